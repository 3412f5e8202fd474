/**
 * The KBS policy layer: attestation appraisal (evidence → EAR trust vector) and resource authorization.
 *
 * Two implementations behind one interface:
 * - `RegoKbsPolicy`: the Rego policies (default or admin-set) evaluated by a Rego engine (ccgpu's own, injected);
 * - `AllowListKbsPolicy`: fail-closed fallback when no Rego engine is available. The appraisal mirrors the default
 *   Rego attestation policy and resources are refused unless an entry of an explicit allow-list permits them.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { earStatus, TRUST_CLAIM_NAMES, type EarClaims, type TrustVector } from './ear-token.js';
import {
  DEFAULT_ATTESTATION_POLICY,
  DEFAULT_ATTESTATION_POLICY_ID,
  DEFAULT_RESOURCE_POLICY,
} from './default-policies.js';
import { EAR_ANNOTATED_EVIDENCE } from './protocol.js';

export interface ResourceRequest {
  plugin: string;
  resourcePath: string[];
  query: Record<string, string>;
}

/** Reference values: `{"<name>": ["<lower-case hex>", ...]}`, exposed to the attestation policy as `data.reference`. */
export type ReferenceValues = Record<string, unknown>;

/** Check the reference-values shape; returns an error text naming the offending key, or undefined. */
export function referenceValuesProblem(v: unknown): string | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return 'reference values must be a JSON object';
  for (const [k, list] of Object.entries(v as Record<string, unknown>)) {
    if (!Array.isArray(list) || !list.every((x) => typeof x === 'string' && /^[0-9a-f]+$/.test(x))) {
      return `"${k}" must be a list of lower-case hex strings`;
    }
  }
  return undefined;
}

export interface Appraisal {
  trustVector: TrustVector;
  policyId: string;
}

export interface KbsPolicy {
  /** A short name for logs and `kbs serve` output. */
  readonly kind: string;
  appraise(annotatedEvidence: Record<string, unknown>, tee: string): Promise<Appraisal>;
  allowResource(claims: EarClaims, req: ResourceRequest): Promise<boolean>;
  setAttestationPolicy(id: string, rego: string): Promise<void>;
  setResourcePolicy(rego: string): Promise<void>;
  setReferenceValues(rv: ReferenceValues): void;
}

/** What the KBS needs from a Rego engine (structurally the `policy/` library's `Engine`). */
export interface RegoEngineLike {
  addPolicy(path: string, src: string): unknown;
  addData(data: unknown): unknown;
  setInput(input: unknown): unknown;
  evalRule(rule: string): unknown;
}
export type RegoEngineFactory = () => RegoEngineLike;

export class PolicyError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PolicyError';
  }
}

function toTrustValue(v: unknown, rule: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < -128 || n > 127) {
    throw new PolicyError(
      `attestation policy: ${rule} must be an integer in -128..127, got ${JSON.stringify(String(v))}`,
    );
  }
  return n;
}

export class RegoKbsPolicy implements KbsPolicy {
  readonly kind = 'rego';
  private attestationPolicies = new Map<string, string>([[DEFAULT_ATTESTATION_POLICY_ID, DEFAULT_ATTESTATION_POLICY]]);
  private resourcePolicy: string;
  private reference: ReferenceValues = {};

  constructor(
    private readonly engineFactory: RegoEngineFactory,
    opts: { resourcePolicy?: string; attestationPolicy?: string; referenceValues?: ReferenceValues } = {},
  ) {
    this.resourcePolicy = opts.resourcePolicy ?? DEFAULT_RESOURCE_POLICY;
    if (opts.attestationPolicy) this.attestationPolicies.set(DEFAULT_ATTESTATION_POLICY_ID, opts.attestationPolicy);
    if (opts.referenceValues) this.reference = opts.referenceValues;
  }

  private async run(src: string, file: string, data: unknown, input: unknown, rules: string[]): Promise<unknown[]> {
    try {
      const e = this.engineFactory();
      await e.addPolicy(file, src);
      await e.addData(data);
      await e.setInput(input);
      const out: unknown[] = [];
      for (const r of rules) out.push(await e.evalRule(r));
      return out;
    } catch (err) {
      throw new PolicyError(`${file}: evaluation failed: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Parse-check a policy by evaluating it on an empty input (errors are reported to the admin). */
  private async check(src: string, file: string, rule: string): Promise<void> {
    await this.run(src, file, {}, {}, [rule]);
  }

  async appraise(annotatedEvidence: Record<string, unknown>, tee: string): Promise<Appraisal> {
    const cls = tee === 'nvidia' ? 'gpu' : 'cpu';
    const id = this.attestationPolicies.has(`default_${cls}`) ? `default_${cls}` : DEFAULT_ATTESTATION_POLICY_ID;
    const src = this.attestationPolicies.get(id)!;
    const rules = TRUST_CLAIM_NAMES.map((n) => `data.policy["${n}"]`);
    const vals = await this.run(src, `${id}.rego`, { reference: this.reference }, annotatedEvidence, rules);
    const tv: TrustVector = {};
    TRUST_CLAIM_NAMES.forEach((n, i) => {
      const v = toTrustValue(vals[i], n);
      if (v !== undefined) tv[n] = v;
    });
    return { trustVector: tv, policyId: id };
  }

  async allowResource(claims: EarClaims, req: ResourceRequest): Promise<boolean> {
    const data = { plugin: req.plugin, 'resource-path': req.resourcePath, query: req.query };
    const [allow] = await this.run(this.resourcePolicy, 'resource-policy.rego', data, claims, ['data.policy.allow']);
    return allow === true; // anything else (undefined, non-boolean) is a refusal
  }

  async setAttestationPolicy(id: string, rego: string): Promise<void> {
    await this.check(rego, `${id}.rego`, 'data.policy.hardware');
    this.attestationPolicies.set(id, rego);
  }

  async setResourcePolicy(rego: string): Promise<void> {
    await this.check(rego, 'resource-policy.rego', 'data.policy.allow');
    this.resourcePolicy = rego;
  }

  setReferenceValues(rv: ReferenceValues): void {
    this.reference = rv;
  }
}

/** One allow-list entry: resource path glob (`*` matches one segment) and the TEEs / statuses allowed. */
export interface AllowListEntry {
  path: string;
  tees: string[];
  status?: string[];
}

export function parseAllowList(text: string, file = 'allow-list'): AllowListEntry[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new PolicyError(`${file}: not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  const list = (doc as { allow?: unknown })?.allow;
  if (!Array.isArray(list)) throw new PolicyError(`${file}: expected {"allow": [{"path", "tees", "status"?}, ...]}`);
  return list.map((x, i) => {
    const e = x as Record<string, unknown>;
    if (typeof e?.path !== 'string' || e.path.split('/').length !== 3) {
      throw new PolicyError(`${file}: allow[${i}].path must be "<repo>/<type>/<tag>" (segments may be *)`);
    }
    if (!Array.isArray(e.tees) || !e.tees.every((t) => typeof t === 'string') || e.tees.length === 0) {
      throw new PolicyError(`${file}: allow[${i}].tees must be a non-empty list of TEE names`);
    }
    if (e.status !== undefined && (!Array.isArray(e.status) || !e.status.every((t) => typeof t === 'string'))) {
      throw new PolicyError(`${file}: allow[${i}].status must be a list of EAR statuses`);
    }
    return { path: e.path, tees: e.tees as string[], status: (e.status as string[] | undefined) ?? ['affirming'] };
  });
}

/** The default appraisal, in TypeScript, equal to DEFAULT_ATTESTATION_POLICY. */
export function builtinAppraisal(ev: Record<string, unknown>, reference: ReferenceValues): TrustVector {
  const list = (k: string): unknown[] => (Array.isArray(reference[k]) ? (reference[k] as unknown[]) : []);
  const snp = ev.snp as Record<string, unknown> | undefined;
  const tdx = ev.tdx as Record<string, unknown> | undefined;
  const tv: TrustVector = { hardware: snp || tdx ? 2 : 97 };
  const m = snp?.measurement ?? tdx?.mr_td;
  tv.executables = m !== undefined && list('measurement').includes(m) ? 3 : 33;
  const refInit = list('init_data');
  const initOk = ev.init_data !== undefined && refInit.includes(ev.init_data);
  tv.configuration = initOk ? 2 : refInit.length > 0 ? 36 : 0;
  return tv;
}

/**
 * FAIL-CLOSED fallback used when no Rego engine is available: refuses every resource except what an explicit
 * allow-list file permits. Rego policies cannot be set on it.
 */
export class AllowListKbsPolicy implements KbsPolicy {
  readonly kind = 'allow-list (fail-closed, no Rego engine)';
  private reference: ReferenceValues;
  constructor(
    private entries: AllowListEntry[] = [],
    opts: { referenceValues?: ReferenceValues; logger?: Logger } = {},
  ) {
    this.reference = opts.referenceValues ?? {};
  }
  static fromFile(file: string, opts: { referenceValues?: ReferenceValues } = {}): AllowListKbsPolicy {
    return new AllowListKbsPolicy(parseAllowList(readFileSync(file, 'utf8'), file), opts);
  }
  async appraise(annotatedEvidence: Record<string, unknown>): Promise<Appraisal> {
    return { trustVector: builtinAppraisal(annotatedEvidence, this.reference), policyId: 'builtin_default_cpu' };
  }
  async allowResource(claims: EarClaims, req: ResourceRequest): Promise<boolean> {
    if (req.plugin !== 'resource') return false;
    const cpu0 = claims.submods?.cpu0;
    if (!cpu0) return false;
    const ev = cpu0[EAR_ANNOTATED_EVIDENCE] ?? {};
    const tee = ['snp', 'tdx', 'sample'].find((t) => t in ev);
    if (!tee) return false;
    const status = earStatus(cpu0['ear.trustworthiness-vector'] ?? {});
    return this.entries.some((e) => {
      const segs = e.path.split('/');
      const pathOk = segs.every((s, i) => s === '*' || s === req.resourcePath[i]) && req.resourcePath.length === 3;
      // the sample TEE is never covered by a wildcard status rule: it must be listed by name
      const statusOk = tee === 'sample' ? true : (e.status ?? ['affirming']).includes(status);
      return pathOk && e.tees.includes(tee) && statusOk;
    });
  }
  async setAttestationPolicy(): Promise<void> {
    throw new PolicyError('this KBS runs without a Rego engine (allow-list mode): attestation policies cannot be set');
  }
  async setResourcePolicy(): Promise<void> {
    throw new PolicyError('this KBS runs without a Rego engine (allow-list mode): resource policies cannot be set');
  }
  setReferenceValues(rv: ReferenceValues): void {
    this.reference = rv;
  }
}
