/**
 * Agent policy enforcement with Kata agent semantics: query `data.agent_policy.<Request>` with the request as
 * input; boolean or `{allowed, ops}` results; `ops` (RFC 6902) patches `data.pstate` only when allowed;
 * SetPolicy resets state; AllowRequestsFailingPolicy turns denials and failures into allowed-with-warning.
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { Engine, RegoError, RObject, toJS, type LiteralFailure, type Value } from '../rego/index.js';
import { PolicyDeniedError, PolicyInternalError, PolicyLoadError } from './errors.js';
import { parseInitdataDevice } from './initdata.js';
import { ALLOW_REQUESTS_FAILING_POLICY } from './requests.js';

export const POLICY_PACKAGE = 'data.agent_policy';
/** Module name used for policies set through SetPolicy or initdata (appears in print lines). */
export const DEFAULT_MODULE_NAME = 'agent_policy';

export interface AgentPolicyOptions {
  logger?: Logger;
  /** Module name shown in print lines; default "agent_policy" (the agent uses the file path for its boot policy). */
  moduleName?: string;
  /** Per-evaluation time budget in ms (default 5000). */
  maxEvalMs?: number;
}

export interface Decision {
  allowed: boolean;
  prints: string[];
}

export interface DetailedDecision extends Decision {
  /** The raw rule value (true/false/object), or undefined when the rule was undefined. */
  value: unknown;
  /** Set when evaluation failed (the request is then denied unless AllowRequestsFailingPolicy). */
  error?: string;
  /** The decision was overridden by AllowRequestsFailingPolicy. */
  bypassed: boolean;
}

/**
 * A decision whose print lines are produced only if someone reads them (denial messages, debugging): the
 * evaluation ran without print(), and `prints` re-runs it once on a snapshot taken before (same data and input).
 * A class rather than a per-object accessor: a getter closure defined on every decision would give each decision
 * its own hidden class, which V8 keeps in old space with the whole snapshot attached until a full GC.
 */
class ReplayableDecision implements DetailedDecision {
  readonly allowed: boolean;
  readonly value: unknown;
  readonly error: string | undefined;
  readonly bypassed: boolean;
  #replay: Engine | undefined;
  readonly #requestName: string;
  #lines: string[] | undefined;

  constructor(
    allowed: boolean,
    value: unknown,
    error: string | undefined,
    bypassed: boolean,
    replay: Engine,
    requestName: string,
  ) {
    this.allowed = allowed;
    this.value = value;
    this.error = error;
    this.bypassed = bypassed;
    this.#replay = replay;
    this.#requestName = requestName;
  }

  /** The print() lines of this evaluation (computed on first read). An accessor: `{...d}` does not copy it. */
  get prints(): string[] {
    if (!this.#lines) {
      const replay = this.#replay as Engine;
      try {
        replay.evalRuleValue(`${POLICY_PACKAGE}.${this.#requestName}`);
      } catch {
        // the lines printed before the error are kept
      }
      this.#lines = replay.takePrints();
      this.#replay = undefined;
    }
    return this.#lines;
  }

  toJSON(): DetailedDecision {
    return {
      allowed: this.allowed,
      value: this.value,
      error: this.error,
      bypassed: this.bypassed,
      prints: this.prints,
    };
  }
}

function newEngine(source: string, opts: AgentPolicyOptions): Engine {
  const engine = new Engine({
    strictBuiltinErrors: false,
    failClosedRegex: true,
    maxEvalMs: opts.maxEvalMs ?? 5000,
    earlyExit: true,
  });
  const name = opts.moduleName ?? DEFAULT_MODULE_NAME;
  let pkg: string;
  try {
    pkg = engine.addPolicy(name, source);
  } catch (e) {
    throw new PolicyLoadError(`cannot load policy ${name}: ${(e as Error).message}`);
  }
  if (pkg !== POLICY_PACKAGE)
    throw new PolicyLoadError(`policy ${name} declares package ${pkg.slice(5)}; expected agent_policy`);
  checkDataRegexes(engine, name);
  engine.addData({ pstate: {} });
  return engine;
}

/**
 * Regexes that live in `policy_data` (genpolicy's `request_defaults`: `allow_env_regex`, `regex`,
 * `forbidden_source_regex`, `forbidden_cidrs_regex`, and the CopyFileRequest path list) are compiled at load into the
 * engine's regex cache (the first request does not pay for them), so a
 * pattern our RE2 engine rejects makes the policy fail to load instead of failing (closed) on every request.
 */
function checkDataRegexes(engine: Engine, name: string): void {
  let data: unknown;
  try {
    data = engine.evalRule(`${POLICY_PACKAGE}.policy_data`);
  } catch {
    return; // not a constant document; patterns are checked when used (fail closed)
  }
  const check = (pattern: unknown, where: string): void => {
    if (typeof pattern !== 'string') return;
    try {
      engine.precompileRegex(pattern);
    } catch (e) {
      throw new PolicyLoadError(`policy ${name}: ${where}: ${(e as Error).message}`);
    }
  };
  const walk = (v: unknown, where: string, isRegex: boolean): void => {
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${where}[${i}]`, isRegex));
    else if (v && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) walk(x, `${where}.${k}`, isRegex || /regex$/i.test(k));
    else if (isRegex) check(v, where);
  };
  walk(data, 'policy_data', false);
  const copyFile = (data as { request_defaults?: { CopyFileRequest?: unknown } } | undefined)?.request_defaults
    ?.CopyFileRequest;
  if (Array.isArray(copyFile)) walk(copyFile, 'policy_data.request_defaults.CopyFileRequest', true);
}

export class AgentPolicy {
  private engine: Engine;
  private allowFailing = false;
  private readonly logger: Logger | undefined;
  private readonly opts: AgentPolicyOptions;

  private constructor(engine: Engine, opts: AgentPolicyOptions) {
    this.engine = engine;
    this.opts = opts;
    this.logger = opts.logger;
    this.refreshBypassFlag();
  }

  /** Loads a policy text; throws PolicyLoadError on parse errors, invalid constant regexes or a wrong package. */
  static fromRego(source: string, opts: AgentPolicyOptions = {}): AgentPolicy {
    return new AgentPolicy(newEngine(source, opts), opts);
  }

  /** Loads the boot policy file; the module is named after the file path (as the agent does). */
  static async fromFile(path: string, opts: AgentPolicyOptions = {}): Promise<AgentPolicy> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      throw new PolicyLoadError(`cannot read policy file ${path}: ${(e as Error).message}`);
    }
    return AgentPolicy.fromRego(text, { moduleName: path, ...opts });
  }

  /**
   * Reads the policy from an initdata block device image. Returns undefined when the initdata has no
   * "policy.rego"; throws PolicyLoadError for a malformed device or policy.
   */
  static fromInitdata(blockDeviceBytes: Uint8Array, opts: AgentPolicyOptions = {}): AgentPolicy | undefined {
    let policy: string | undefined;
    try {
      policy = parseInitdataDevice(blockDeviceBytes).data['policy.rego'];
    } catch (e) {
      throw new PolicyLoadError((e as Error).message);
    }
    return policy === undefined ? undefined : AgentPolicy.fromRego(policy, opts);
  }

  /** Whether AllowRequestsFailingPolicy is on for the current policy. */
  get allowRequestsFailingPolicy(): boolean {
    return this.allowFailing;
  }

  private refreshBypassFlag(): void {
    this.engine.setInput({});
    try {
      this.allowFailing = this.engine.evalRuleValue(`${POLICY_PACKAGE}.${ALLOW_REQUESTS_FAILING_POLICY}`) === true;
    } catch {
      this.allowFailing = false;
    }
    this.engine.takePrints();
  }

  /** Replaces the policy (fresh engine, so `pstate` is reset). Callers enforce SetPolicyRequest first. */
  setPolicy(source: string): void {
    this.engine = newEngine(source, { ...this.opts, moduleName: DEFAULT_MODULE_NAME });
    this.refreshBypassFlag();
  }

  /** SetPolicyRequest semantics: the current policy must allow `{policy: <text>}`, then the policy is replaced. */
  async setPolicyRequest(source: string): Promise<void> {
    await this.check('SetPolicyRequest', { policy: source });
    this.setPolicy(source);
  }

  /** Evaluates a request and applies state ops; never throws for evaluation problems (they deny). */
  async evaluate(requestName: string, input: unknown): Promise<DetailedDecision> {
    return this.evaluateSync(requestName, input);
  }

  evaluateSync(requestName: string, input: unknown): DetailedDecision {
    const engine = this.engine;
    engine.setInput(input);
    // Evaluate without print(); the lines are reproduced on demand from this snapshot (same data and input).
    const replay = engine.clone();
    engine.setGatherPrints(false);
    let value: Value | undefined;
    let error: string | undefined;
    let allowed = false;
    try {
      value = engine.evalRuleValue(`${POLICY_PACKAGE}.${requestName}`);
      if (value === undefined) {
        error = `policy has no result for ${requestName} (no rule and no default)`;
      } else if (typeof value === 'boolean') {
        allowed = value;
      } else if (value instanceof RObject) {
        const a = value.get('allowed');
        if (typeof a !== 'boolean') {
          error = `policy result for ${requestName} must have a boolean "allowed" field`;
        } else {
          allowed = a;
          const ops = value.get('ops');
          if (allowed && ops !== undefined && ops !== null) engine.patchData(toJS(ops));
        }
      } else {
        error = `policy result for ${requestName} must be a boolean or an object, got ${JSON.stringify(toJS(value))}`;
      }
    } catch (e) {
      error = e instanceof RegoError ? e.message : String(e);
      allowed = false;
    }
    engine.setGatherPrints(true);
    engine.takePrintBatch(); // trace() output, if any, is reproduced by the replay too
    let bypassed = false;
    if ((!allowed || error) && this.allowFailing) {
      this.logger?.warn(
        { request: requestName, error },
        'request would be denied by policy; allowed because AllowRequestsFailingPolicy is true',
      );
      allowed = true;
      bypassed = true;
      error = undefined;
    }
    return new ReplayableDecision(
      allowed && !error,
      value === undefined ? undefined : toJS(value),
      error,
      bypassed,
      replay,
      requestName,
    );
  }

  /** The decision for a request (state ops applied when allowed). */
  async allow(requestName: string, input: unknown): Promise<Decision> {
    return this.evaluateSync(requestName, input);
  }

  /** Throws PolicyDeniedError (PERMISSION_DENIED) or PolicyInternalError (INTERNAL) unless allowed. */
  async check(requestName: string, input: unknown): Promise<void> {
    const d = this.evaluateSync(requestName, input);
    if (d.error) throw new PolicyInternalError(requestName, d.error);
    if (!d.allowed) throw new PolicyDeniedError(requestName, d.prints);
  }

  /** ReadStream semantics: the stream was read already; a denial empties the data but the call succeeds. */
  async filterReadStream(input: unknown, data: Uint8Array): Promise<Uint8Array> {
    const d = this.evaluateSync('ReadStreamRequest', input);
    return d.allowed ? data : new Uint8Array(0);
  }

  /** Evaluates a request on a copy (no state change) recording failed expressions; see explainDenial. */
  trace(
    requestName: string,
    input: unknown,
  ): { value: unknown; prints: string[]; failures: LiteralFailure[]; error?: string } {
    const e = this.engine.clone();
    e.setInput(input);
    try {
      const r = e.explainRule(`${POLICY_PACKAGE}.${requestName}`);
      return { ...r, prints: e.takePrints() };
    } catch (err) {
      return { value: undefined, prints: e.takePrints(), failures: [], error: (err as Error).message };
    }
  }

  /** The current base data document (includes `pstate`). */
  data(): Record<string, unknown> {
    return this.engine.getData();
  }

  /** A cheap independent copy (shared compiled policy, separate state). */
  clone(): AgentPolicy {
    const p = Object.create(AgentPolicy.prototype) as AgentPolicy;
    Object.assign(p, this, { engine: this.engine.clone() });
    return p;
  }
}
