/**
 * Kubernetes YAML → resources. Each YAML document is kept as a `yaml` Document so the output can be written
 * back with comments and layout intact. Policy-bearing kinds expose where their pod template lives; `List`
 * items are expanded; ConfigMaps/Secrets are collected; other known kinds pass through; unknown kinds fail.
 */
import { isMap, isSeq, parseAllDocuments, type Document } from 'yaml';
import { GenpolicyError } from './errors.js';
import {
  CONTAINER_FIELDS,
  METADATA_FIELDS,
  POD_SPEC_FIELDS,
  SECURITY_CONTEXT_FIELDS,
  VOLUME_FIELDS,
  VOLUME_MOUNT_FIELDS,
} from './known-fields.js';
import type { ObjectMeta, PodSpec } from './k8s-types.js';

export const POLICY_KINDS = [
  'Pod',
  'Deployment',
  'DaemonSet',
  'Job',
  'CronJob',
  'ReplicaSet',
  'ReplicationController',
  'StatefulSet',
] as const;
export type PolicyKind = (typeof POLICY_KINDS)[number];

export const PASS_THROUGH_KINDS = new Set([
  'ClusterRole',
  'ClusterRoleBinding',
  'LimitRange',
  'Namespace',
  'PersistentVolume',
  'PersistentVolumeClaim',
  'PodDisruptionBudget',
  'PriorityClass',
  'ResourceQuota',
  'Role',
  'RoleBinding',
  'Service',
  'ServiceAccount',
  'ConfigMap',
  'Secret',
]);

/** Path (in the YAML document) of the pod template's spec and metadata, per kind. */
const TEMPLATE_PATH: Record<PolicyKind, readonly string[]> = {
  Pod: [],
  Deployment: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  Job: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  ReplicationController: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};

export interface PodResource {
  readonly kind: PolicyKind;
  /** `Deployment "web"` style label for messages. */
  readonly label: string;
  /** Resource metadata (name/namespace of the workload object). */
  readonly meta: ObjectMeta;
  /** Pod template metadata (for Pod: the pod's own). */
  readonly podMeta: ObjectMeta;
  readonly spec: PodSpec;
  readonly doc: Document;
  /** Path to the pod template inside `doc` (prefix for metadata/spec). */
  readonly templatePath: readonly (string | number)[];
}

export interface ParsedYaml {
  readonly docs: Document[];
  readonly pods: PodResource[];
  readonly configMaps: Record<string, unknown>[];
  readonly secrets: Record<string, unknown>[];
}

export interface ParseOptions {
  readonly file: string;
  readonly silentUnsupportedFields?: boolean;
}

function checkFields(obj: unknown, known: Set<string>, where: string, file: string, opts: ParseOptions): void {
  if (opts.silentUnsupportedFields || !obj || typeof obj !== 'object' || Array.isArray(obj)) return;
  for (const k of Object.keys(obj)) {
    if (!known.has(k)) {
      throw new GenpolicyError(
        `${file}: ${where}.${k} is not a supported field (use -s / --silent-unsupported-fields to ignore it)`,
        { file, field: `${where}.${k}` },
      );
    }
  }
}

function validatePodSpec(spec: PodSpec, where: string, opts: ParseOptions): void {
  const file = opts.file;
  if (!spec || typeof spec !== 'object')
    throw new GenpolicyError(`${file}: ${where} is missing`, { file, field: where });
  checkFields(spec, POD_SPEC_FIELDS, where, file, opts);
  checkFields(spec.securityContext, SECURITY_CONTEXT_FIELDS, `${where}.securityContext`, file, opts);
  if (!Array.isArray(spec.containers) || spec.containers.length === 0) {
    throw new GenpolicyError(`${file}: ${where}.containers must be a non-empty list`, {
      file,
      field: `${where}.containers`,
    });
  }
  const names = new Set<string>();
  for (const [list, key] of [
    [spec.initContainers ?? [], 'initContainers'],
    [spec.containers, 'containers'],
  ] as const) {
    if (!Array.isArray(list))
      throw new GenpolicyError(`${file}: ${where}.${key} must be a list`, { file, field: `${where}.${key}` });
    list.forEach((c, i) => {
      const cw = `${where}.${key}[${i}]`;
      checkFields(c, CONTAINER_FIELDS, cw, file, opts);
      checkFields(c.securityContext, SECURITY_CONTEXT_FIELDS, `${cw}.securityContext`, file, opts);
      if (typeof c.name !== 'string' || !c.name)
        throw new GenpolicyError(`${file}: ${cw}.name must be a non-empty string`, { file, field: `${cw}.name` });
      if (typeof c.image !== 'string' || !c.image)
        throw new GenpolicyError(`${file}: ${cw}.image must be a non-empty string`, { file, field: `${cw}.image` });
      if (names.has(c.name))
        throw new GenpolicyError(`${file}: ${cw}.name "${c.name}" is used by two containers`, {
          file,
          field: `${cw}.name`,
        });
      names.add(c.name);
      (c.volumeMounts ?? []).forEach((m, j) =>
        checkFields(m, VOLUME_MOUNT_FIELDS, `${cw}.volumeMounts[${j}]`, file, opts),
      );
    });
  }
  (spec.volumes ?? []).forEach((v, i) => checkFields(v, VOLUME_FIELDS, `${where}.volumes[${i}]`, file, opts));
}

function getIn(obj: unknown, p: readonly (string | number)[]): unknown {
  let cur = obj;
  for (const k of p) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[k];
  }
  return cur;
}

function collect(
  value: Record<string, unknown>,
  doc: Document,
  prefix: readonly (string | number)[],
  out: { pods: PodResource[]; configMaps: Record<string, unknown>[]; secrets: Record<string, unknown>[] },
  opts: ParseOptions,
  where: string,
): void {
  const kind = value.kind;
  if (typeof kind !== 'string')
    throw new GenpolicyError(`${opts.file}: ${where} has no "kind"`, { file: opts.file, resource: where });
  const meta = (value.metadata ?? {}) as ObjectMeta;
  const label = `${kind} "${meta.name ?? meta.generateName ?? '?'}"`;
  if (kind === 'List') {
    const items = value.items;
    if (!Array.isArray(items))
      throw new GenpolicyError(`${opts.file}: ${where} List has no "items" array`, {
        file: opts.file,
        resource: where,
      });
    items.forEach((item, i) =>
      collect(item as Record<string, unknown>, doc, [...prefix, 'items', i], out, opts, `${where} items[${i}]`),
    );
    return;
  }
  if (kind === 'ConfigMap') out.configMaps.push(value);
  if (kind === 'Secret') out.secrets.push(value);
  if (PASS_THROUGH_KINDS.has(kind)) return;
  if (!(POLICY_KINDS as readonly string[]).includes(kind)) {
    throw new GenpolicyError(
      `${opts.file}: ${where}: kind "${kind}" is not supported (supported: ${POLICY_KINDS.join(', ')}, List, and pass-through kinds ${[...PASS_THROUGH_KINDS].join(', ')})`,
      {
        file: opts.file,
        resource: where,
      },
    );
  }
  const k = kind as PolicyKind;
  checkFields(meta, METADATA_FIELDS, `${label}.metadata`, opts.file, opts);
  const tpl = TEMPLATE_PATH[k];
  const template = tpl.length ? getIn(value, tpl) : value;
  if (!template || typeof template !== 'object') {
    throw new GenpolicyError(`${opts.file}: ${label}: missing ${tpl.join('.')}`, {
      file: opts.file,
      resource: label,
      field: tpl.join('.'),
    });
  }
  const podMeta = ((template as Record<string, unknown>).metadata ?? {}) as ObjectMeta;
  const spec = (template as Record<string, unknown>).spec as PodSpec;
  validatePodSpec(spec, `${label}: ${[...tpl, 'spec'].join('.')}`, opts);
  out.pods.push({ kind: k, label, meta, podMeta, spec, doc, templatePath: [...prefix, ...tpl] });
}

export function parseK8sYaml(text: string, opts: ParseOptions): ParsedYaml {
  const docs = parseAllDocuments(text, { prettyErrors: true });
  if (!Array.isArray(docs)) throw new GenpolicyError(`${opts.file}: not a YAML stream`, { file: opts.file });
  const out = {
    pods: [] as PodResource[],
    configMaps: [] as Record<string, unknown>[],
    secrets: [] as Record<string, unknown>[],
  };
  const kept: Document[] = [];
  docs.forEach((doc, i) => {
    if (doc.errors.length)
      throw new GenpolicyError(`${opts.file}: YAML document ${i + 1}: ${doc.errors[0]!.message}`, { file: opts.file });
    if (doc.contents === null) return; // empty document (e.g. trailing ---)
    if (!isMap(doc.contents) && !isSeq(doc.contents))
      throw new GenpolicyError(`${opts.file}: document ${i + 1} is not a mapping`, { file: opts.file });
    kept.push(doc);
    collect(doc.toJSON() as Record<string, unknown>, doc, [], out, opts, `document ${i + 1}`);
  });
  return { docs: kept, ...out };
}

/** Sets an annotation on the pod template of `pod` (creating metadata/annotations as needed). */
export function setPodAnnotation(pod: PodResource, key: string, value: string): void {
  pod.doc.setIn([...pod.templatePath, 'metadata', 'annotations', key], value);
}

/** Serialises the documents back into one YAML stream. */
export function stringifyDocs(docs: readonly Document[]): string {
  return docs
    .map((d, i) => {
      const text = d.toString({ lineWidth: 0 });
      return i > 0 && !text.startsWith('---') ? `---\n${text}` : text;
    })
    .join('');
}
