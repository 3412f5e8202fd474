/** Library side of `ccgpu policy eval` and `ccgpu policy explain`. */
import { AgentPolicy, type AgentPolicyOptions } from './agent-policy.js';
import type { LoggedRequest } from './request-log.js';

export interface EvaluateOptions extends AgentPolicyOptions {
  /** Evaluate each request on a fresh copy of the loaded policy (no state carried between requests). */
  fresh?: boolean;
  /** Evaluate the whole sequence this many times (timings accumulate; decisions are from the last run). */
  repeat?: number;
}

export interface EvaluateResult {
  /** One per request: the decision (true/false) or the error text. */
  decisions: Array<boolean | string>;
  /** Print lines per request. */
  prints: string[][];
  /** Evaluation times in milliseconds per request type. */
  timings: Map<string, number[]>;
}

export function evaluateRequests(
  policyText: string,
  requests: LoggedRequest[],
  opts: EvaluateOptions = {},
): EvaluateResult {
  const base = AgentPolicy.fromRego(policyText, opts);
  const timings = new Map<string, number[]>();
  let decisions: Array<boolean | string> = [];
  let prints: string[][] = [];
  const repeat = Math.max(1, opts.repeat ?? 1);
  for (let r = 0; r < repeat; r++) {
    decisions = [];
    prints = [];
    let policy = base.clone();
    for (const req of requests) {
      if (opts.fresh) policy = base.clone();
      const t0 = performance.now();
      const d = policy.evaluateSync(req.name, req.input);
      const dt = performance.now() - t0;
      let list = timings.get(req.name);
      if (!list) timings.set(req.name, (list = []));
      list.push(dt);
      decisions.push(d.error ? d.error : d.allowed);
      prints.push(d.prints);
    }
  }
  return { decisions, prints, timings };
}

export interface TimingSummary {
  request: string;
  count: number;
  p50: number;
  p99: number;
  mean: number;
}

export function summariseTimings(timings: Map<string, number[]>): TimingSummary[] {
  const pct = (xs: number[], p: number): number =>
    xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] as number;
  return [...timings]
    .map(([request, xs]) => {
      const s = [...xs].sort((a, b) => a - b);
      return {
        request,
        count: s.length,
        p50: pct(s, 50),
        p99: pct(s, 99),
        mean: s.reduce((a, b) => a + b, 0) / s.length,
      };
    })
    .sort((a, b) => a.request.localeCompare(b.request));
}

export interface Explanation {
  request: string;
  line: number;
  allowed: boolean;
  /** Raw rule value or error text. */
  result: unknown;
  prints: string[];
  /** The entry rule's expression that failed (shallowest failure), with its source text. */
  failedRule?: { rule: string; file: string; line: number; text: string };
  /** The innermost failed expression seen last (usually the concrete reason). */
  innermost?: { rule: string; file: string; line: number; text: string };
}

/**
 * Replays requests up to and including the `index`-th (0-based; default: the first denied one) and explains the
 * decision for it: print lines and the rule expression that failed.
 */
export function explainDenial(
  policyText: string,
  requests: LoggedRequest[],
  index?: number,
  opts: AgentPolicyOptions = {},
): Explanation {
  const policy = AgentPolicy.fromRego(policyText, opts);
  const srcLines = policyText.split('\n');
  for (let i = 0; i < requests.length; i++) {
    const req = requests[i] as LoggedRequest;
    if (index !== undefined && i < index) {
      policy.evaluateSync(req.name, req.input);
      continue;
    }
    const tr = policy.trace(req.name, req.input);
    const d = policy.evaluateSync(req.name, req.input);
    if (index === undefined && d.allowed) continue;
    const describe = (f: {
      rule: string;
      file: string;
      line: number;
    }): { rule: string; file: string; line: number; text: string } => ({
      ...f,
      text: (srcLines[f.line - 1] ?? '').trim(),
    });
    const entry = tr.failures.filter((f) => f.rule === req.name);
    const shallow = entry.length ? entry[entry.length - 1] : undefined;
    const inner = tr.failures.length ? tr.failures[tr.failures.length - 1] : undefined;
    return {
      request: req.name,
      line: req.line,
      allowed: d.allowed,
      result: d.error ?? tr.error ?? tr.value,
      prints: tr.prints,
      failedRule: shallow && describe(shallow),
      innermost: inner && describe(inner),
    };
  }
  throw new Error(
    index === undefined ? 'no request was denied' : `request index ${index} is out of range (have ${requests.length})`,
  );
}
