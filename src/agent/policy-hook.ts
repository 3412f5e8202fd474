/**
 * The agent's policy hook: every ttRPC request is checked against the agent policy before it is handled, as the
 * Kata agent does (`data.agent_policy.<RequestMessageName>` with the serde-shaped request as input).
 *
 * Where the policy comes from (`AgentPolicyHook.fromSources`), in the agent's order:
 * 1. initdata: a block device (or its bytes) starting with the magic `initdata`; if its TOML has `policy.rego`,
 *    that policy is installed directly, without consulting SetPolicyRequest (the initdata digest is what
 *    attestation binds). A malformed initdata device is an error.
 * 2. the default policy file (`policyFile`, else env `KATA_AGENT_POLICY_FILE`, else
 *    /etc/kata-opa/default-policy.rego). A file that exists but does not load is an error: the agent must not
 *    boot with a policy it cannot enforce. A file given explicitly must exist.
 * 3. nothing: every request is allowed, with the warning "no policy loaded".
 *
 * How callers use it:
 * - every handler calls `allow(<RequestMessageName>, request)` first (`policyEntryPoint(method)` in
 *   policy-input.ts maps an AgentService method name to it) and answers PERMISSION_DENIED with
 *   `message` when it is not allowed. Any conversion or evaluation problem denies (fails closed) with the error
 *   text in `message` (upstream answers INTERNAL for those; `code` says which).
 * - ReadStdout/ReadStderr (`ReadStreamRequest`): read the stream FIRST, then call `allow`; if denied, answer
 *   success with empty data instead of an error (upstream does this so that denied reads cannot fill the
 *   container's pipes and deadlock it, kata-containers PR #10818).
 * - SetPolicy: `allow('SetPolicyRequest', req)` like any request, then `setPolicy(req.policy)`, which installs
 *   the new policy with fresh state.
 * - CopyFile: `allow('CopyFileRequest', req)` with the decoded request; the hook gives the policy the
 *   pre-processed PolicyCopyFileRequest (no file contents).
 * - MemAgentMemcgSet / MemAgentCompactSet: the entry points are `MemAgentMemcgConfig` / `MemAgentCompactConfig`.
 *
 * Evaluations are synchronous and therefore serialised, like the agent's mutex around its engine.
 */
import { appendFile, open, readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { AgentPolicy, PolicyLoadError, denialMessage } from '../../policy/agent/index.js';
import { Code } from '../errors/index.js';
import { silentLogger } from '../log/index.js';
import { requestPolicyInput } from './policy-input.js';

export const DEFAULT_POLICY_FILE = '/etc/kata-opa/default-policy.rego';
/** Upstream logs policy inputs here when the agent runs with debug logging. */
export const DEFAULT_POLICY_REQUEST_LOG = '/tmp/policy.jsonl';

/** Requests never written to the request log (upstream skips them: noisy or carrying the policy itself). */
const UNLOGGED = new Set(['StatsContainerRequest', 'ReadStreamRequest', 'SetPolicyRequest']);
/** Header of an initdata device: 8-byte magic + little-endian u64 length. */
const INITDATA_HEADER = 16;
const MAX_INITDATA_BYTES = 64 * 1024 * 1024;

export interface PolicySources {
  logger?: Logger;
  /** Default policy file; default env KATA_AGENT_POLICY_FILE, else /etc/kata-opa/default-policy.rego. */
  policyFile?: string;
  /** Path of the initdata block device (e.g. /dev/vdb). */
  initdataDevice?: string;
  /** The initdata device contents, if already read. */
  initdataBytes?: Uint8Array;
  /** Append every evaluated request as `{"kind","request"}` JSON lines to this file (debugging aid). */
  requestLog?: string;
  /** Per-evaluation time budget in ms. */
  maxEvalMs?: number;
}

export type PolicyVerdict =
  | { allowed: true }
  | {
      allowed: false;
      message: string;
      /** PermissionDenied for a denial, Internal for a failed evaluation (both deny). */
      code: typeof Code.PermissionDenied | typeof Code.Internal;
    };

/** Where the active policy came from. */
export type PolicyOrigin = 'initdata' | 'file' | 'set-policy' | 'none';

async function readInitdataDevice(device: string): Promise<Uint8Array> {
  const fh = await open(device, 'r').catch((e: Error) => {
    throw new PolicyLoadError(`cannot open initdata device ${device}: ${e.message}`);
  });
  try {
    const head = Buffer.alloc(INITDATA_HEADER);
    const { bytesRead } = await fh.read(head, 0, INITDATA_HEADER, 0);
    if (bytesRead < INITDATA_HEADER)
      throw new PolicyLoadError(`initdata device ${device}: shorter than the 16-byte header`);
    const len = head.readBigUInt64LE(8);
    if (len > BigInt(MAX_INITDATA_BYTES))
      throw new PolicyLoadError(`initdata device ${device}: length ${len} exceeds ${MAX_INITDATA_BYTES} bytes`);
    const all = Buffer.alloc(INITDATA_HEADER + Number(len));
    head.copy(all);
    const rest = await fh.read(all, INITDATA_HEADER, Number(len), INITDATA_HEADER);
    if (rest.bytesRead < Number(len))
      throw new PolicyLoadError(`initdata device ${device}: truncated (${rest.bytesRead} of ${len} bytes)`);
    return all;
  } finally {
    await fh.close();
  }
}

export class AgentPolicyHook {
  private logWrites: Promise<void> = Promise.resolve();

  private constructor(
    private policy: AgentPolicy | undefined,
    private origin: PolicyOrigin,
    private readonly logger: Logger,
    private readonly opts: PolicySources,
  ) {}

  /** Loads the policy from initdata, else the default policy file, else none (allow-all, with a warning). */
  static async fromSources(opts: PolicySources = {}): Promise<AgentPolicyHook> {
    const logger = opts.logger ?? silentLogger;
    const engineOpts = { logger, ...(opts.maxEvalMs !== undefined ? { maxEvalMs: opts.maxEvalMs } : {}) };
    let initdata = opts.initdataBytes;
    if (!initdata && opts.initdataDevice) initdata = await readInitdataDevice(opts.initdataDevice);
    if (initdata) {
      let p: AgentPolicy | undefined;
      try {
        p = AgentPolicy.fromInitdata(initdata, engineOpts);
      } catch (e) {
        throw new PolicyLoadError(
          `initdata${opts.initdataDevice ? ` device ${opts.initdataDevice}` : ''}: ${(e as Error).message}`,
        );
      }
      if (p) {
        logger.info({ source: opts.initdataDevice ?? 'initdata' }, 'agent policy loaded from initdata');
        return new AgentPolicyHook(p, 'initdata', logger, opts);
      }
      logger.info('initdata has no policy.rego');
    }
    const explicit = opts.policyFile ?? process.env.KATA_AGENT_POLICY_FILE;
    const file = explicit ?? DEFAULT_POLICY_FILE;
    let text: string | undefined;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (explicit !== undefined || err.code !== 'ENOENT')
        throw new PolicyLoadError(`cannot read policy file ${file}: ${err.message}`);
    }
    if (text !== undefined) {
      const p = AgentPolicy.fromRego(text, { ...engineOpts, moduleName: file });
      logger.info({ file }, 'agent policy loaded from file');
      return new AgentPolicyHook(p, 'file', logger, opts);
    }
    logger.warn({ file }, 'no policy loaded: every agent request is allowed');
    return new AgentPolicyHook(undefined, 'none', logger, opts);
  }

  /** Where the active policy came from. */
  get source(): PolicyOrigin {
    return this.origin;
  }

  /** Whether the active policy has AllowRequestsFailingPolicy set (denials are then only logged). */
  get allowRequestsFailingPolicy(): boolean {
    return this.policy?.allowRequestsFailingPolicy ?? false;
  }

  /**
   * Checks one request (`requestName` is the protobuf message name, e.g. "CreateContainerRequest"); applies the
   * policy's state ops when allowed. Never throws: any problem denies.
   */
  async allow(requestName: string, request: object): Promise<PolicyVerdict> {
    const policy = this.policy;
    if (!policy) return { allowed: true };
    let input: Record<string, unknown>;
    try {
      input = requestPolicyInput(requestName, request);
    } catch (e) {
      const message = `${requestName}: internal error converting the request for the policy: ${(e as Error).message}`;
      this.logger.warn({ request: requestName }, message);
      return { allowed: false, message, code: Code.Internal };
    }
    if (this.opts.requestLog && !UNLOGGED.has(requestName)) this.logRequest(requestName, input);
    let d;
    try {
      d = await policy.evaluate(requestName, input);
    } catch (e) {
      const message = `${requestName}: internal error ${(e as Error).message}`;
      this.logger.warn({ request: requestName }, message);
      return { allowed: false, message, code: Code.Internal };
    }
    if (d.bypassed) return { allowed: true };
    if (d.error !== undefined) {
      const message = `${requestName}: internal error ${d.error}`;
      this.logger.warn({ request: requestName }, message);
      return { allowed: false, message, code: Code.Internal };
    }
    if (d.allowed) return { allowed: true };
    const message = denialMessage(requestName, d.prints);
    this.logger.warn({ request: requestName }, 'request blocked by policy');
    return { allowed: false, message, code: Code.PermissionDenied };
  }

  /**
   * Installs a new policy (SetPolicyRequest, after `allow('SetPolicyRequest', ...)` said yes): a fresh engine,
   * so the policy state is reset. Throws PolicyLoadError (the old policy stays active) if it does not load.
   */
  setPolicy(text: string): void {
    const opts = {
      logger: this.logger,
      ...(this.opts.maxEvalMs !== undefined ? { maxEvalMs: this.opts.maxEvalMs } : {}),
    };
    this.policy = AgentPolicy.fromRego(text, opts);
    this.origin = 'set-policy';
    this.logger.info('agent policy replaced by SetPolicyRequest');
  }

  /** Appends to the request log in call order, without holding up the evaluation. */
  private logRequest(requestName: string, input: unknown): void {
    const line = JSON.stringify({ kind: requestName, request: input }) + '\n';
    const file = this.opts.requestLog as string;
    this.logWrites = this.logWrites
      .then(() => appendFile(file, line))
      .catch((e: Error) => this.logger.debug({ file, err: e.message }, 'cannot write policy request log'));
  }

  /** Resolves when every request-log line written so far is on disk. */
  async flushRequestLog(): Promise<void> {
    await this.logWrites;
  }
}
