/**
 * Container environment as containerd builds it: image Env, then HOSTNAME, then the pod's env/envFrom (a later
 * definition of a name replaces the earlier value in place). Values that are only known at run time become
 * placeholders (`$(sandbox-name)`, `$(pod-uid)`, ...) that the rules turn into patterns. `$(VAR)` references
 * are expanded like kubelet does (`$$` escapes).
 */
import type { ConfigObjects } from './config-maps.js';
import { GenpolicyError } from './errors.js';
import type { Container, ObjectMeta, PodSpec } from './k8s-types.js';

const FIELD_PLACEHOLDERS: Record<string, string> = {
  'metadata.name': '$(sandbox-name)',
  'metadata.namespace': '$(sandbox-namespace)',
  'metadata.uid': '$(pod-uid)',
  'spec.nodeName': '$(node-name)',
  'status.podIP': '$(pod-ip)',
  'status.podIPs': '$(pod-ip)',
  'status.hostIP': '$(host-ip)',
  'status.hostIPs': '$(host-ip)',
};

/** Expands `$(NAME)` from `vars`; unknown references stay as written; `$$` → `$`. */
export function expandVars(s: string, vars: ReadonlyMap<string, string>): string {
  return s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name: string | undefined) => {
    if (m === '$$') return '$';
    const v = vars.get(name!);
    return v === undefined ? m : v;
  });
}

/** Placeholders the rules know; expanding a user var must not turn into one of these by accident. */
export function isRuntimePlaceholder(v: string): boolean {
  return /\$\((sandbox-name|sandbox-namespace|pod-uid|node-name|pod-ip|host-ip|resource-field|host-name)\)/.test(v);
}

export interface EnvContext {
  readonly podMeta: ObjectMeta;
  readonly namespace: string;
  readonly spec: PodSpec;
  readonly config: ConfigObjects;
  readonly where: string;
}

export function buildEnv(
  imageEnv: readonly string[],
  c: Container,
  ctx: EnvContext,
): { env: string[]; vars: Map<string, string> } {
  const order: string[] = [];
  const vars = new Map<string, string>();
  const set = (name: string, value: string): void => {
    if (!vars.has(name)) order.push(name);
    vars.set(name, value);
  };
  for (const e of imageEnv) {
    const eq = e.indexOf('=');
    if (eq <= 0) continue;
    set(e.slice(0, eq), e.slice(eq + 1));
  }
  set('HOSTNAME', '$(host-name)');
  // kubelet: envFrom first, then env (env wins on duplicates)
  const podVars = new Map<string, string>();
  (c.envFrom ?? []).forEach((src, i) => {
    const where = `${ctx.where}.envFrom[${i}]`;
    const prefix = src.prefix ?? '';
    const entries = src.configMapRef
      ? ctx.config.entries('ConfigMap', src.configMapRef.name, src.configMapRef.optional === true, where)
      : src.secretRef
        ? ctx.config.entries('Secret', src.secretRef.name, src.secretRef.optional === true, where)
        : (() => {
            throw new GenpolicyError(`${where}: needs configMapRef or secretRef`, { field: where });
          })();
    for (const [k, v] of entries ?? []) {
      podVars.set(prefix + k, v);
      set(prefix + k, v);
    }
  });
  (c.env ?? []).forEach((ev, i) => {
    const where = `${ctx.where}.env[${i}]`;
    if (typeof ev?.name !== 'string') throw new GenpolicyError(`${where}.name must be a string`, { field: where });
    let value: string | undefined;
    if (ev.valueFrom) {
      const vf = ev.valueFrom;
      if (vf.configMapKeyRef)
        value = ctx.config.value(
          'ConfigMap',
          vf.configMapKeyRef.name,
          vf.configMapKeyRef.key,
          vf.configMapKeyRef.optional === true,
          where,
        );
      else if (vf.secretKeyRef)
        value = ctx.config.value(
          'Secret',
          vf.secretKeyRef.name,
          vf.secretKeyRef.key,
          vf.secretKeyRef.optional === true,
          where,
        );
      else if (vf.fieldRef) value = fieldRefValue(vf.fieldRef.fieldPath, ctx, where);
      else if (vf.resourceFieldRef) value = '$(resource-field)';
      else throw new GenpolicyError(`${where}.valueFrom has no supported source`, { field: where });
      if (value === undefined) return; // optional and missing: kubelet skips the variable
    } else {
      value = expandVars(String(ev.value ?? ''), podVars);
    }
    podVars.set(ev.name, value);
    set(ev.name, value);
  });
  return { env: order.map((n) => `${n}=${vars.get(n)!}`), vars: podVars };
}

function fieldRefValue(fieldPath: string, ctx: EnvContext, where: string): string {
  const fixed = FIELD_PLACEHOLDERS[fieldPath];
  if (fixed) {
    if (fieldPath === 'metadata.namespace' && ctx.podMeta.namespace) return ctx.namespace;
    return fixed;
  }
  if (fieldPath === 'spec.serviceAccountName') return ctx.spec.serviceAccountName ?? 'default';
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (m) {
    const map = (m[1] === 'labels' ? ctx.podMeta.labels : ctx.podMeta.annotations) ?? {};
    const v = map[m[2]!];
    if (v === undefined)
      throw new GenpolicyError(
        `${where}: fieldRef ${fieldPath} names a ${m[1]!.slice(0, -1)} the pod template does not have`,
        { field: where },
      );
    return v;
  }
  throw new GenpolicyError(`${where}: fieldRef "${fieldPath}" is not supported`, { field: where });
}
