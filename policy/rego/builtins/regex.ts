/**
 * Regex builtins with RE2 semantics (re2js: linear time, no backtracking). Compiled patterns are cached per
 * engine. `regex.match` is an unanchored search, as in OPA and regorus.
 */
import { RE2JS } from 're2js';
import { def, fail, int, str, type Builtin, type BuiltinContext } from './types.js';
import type { Value } from '../value.js';
import { InvalidRegexError } from '../errors.js';

/** Translates syntax that Go/Rust regexes accept but re2js spells differently. */
function normalise(pattern: string): string {
  return pattern.replace(/\\z/g, '$');
}

/** Compiles (and caches) a pattern; throws a descriptive Error on invalid syntax. */
export function compileRegex(pattern: string, cache?: Map<string, unknown>): RE2JS {
  const hit = cache?.get(pattern);
  if (hit) return hit as RE2JS;
  let re: RE2JS;
  try {
    re = RE2JS.compile(normalise(pattern));
  } catch (e) {
    throw new Error(`invalid regular expression ${JSON.stringify(pattern)}: ${(e as Error).message}`);
  }
  // patterns can be built from request data: keep the cache bounded
  if (cache && cache.size >= MAX_COMPILED) cache.clear();
  cache?.set(pattern, re);
  return re;
}

const MAX_COMPILED = 4096;

function re(ctx: BuiltinContext, p: Value): RE2JS {
  try {
    return compileRegex(str(p), ctx.regexCache);
  } catch (e) {
    if (typeof p !== 'string') return fail((e as Error).message);
    throw new InvalidRegexError((e as Error).message);
  }
}

function findAll(r: RE2JS, s: string, n: number): Array<{ start: number; end: number; groups: string[] }> {
  const out: Array<{ start: number; end: number; groups: string[] }> = [];
  const m = r.matcher(s);
  let pos = 0;
  while ((n < 0 || out.length < n) && pos <= s.length && m.find(pos)) {
    const groups: string[] = [];
    for (let g = 0; g <= m.groupCount(); g++) groups.push(m.group(g) ?? '');
    const start = m.start();
    const end = m.end();
    out.push({ start, end, groups });
    pos = end === start ? end + 1 : end;
  }
  return out;
}

/**
 * regex.match results. Policies test the same strings against the same patterns over and over (every env var
 * against every allowed pattern, for each container), and matching is a pure function, so results are
 * remembered. Memory is bounded (short subjects only, a fixed number of entries overall), so hostile inputs
 * cannot grow it.
 */
const matchMemo = new Map<string, Map<string, boolean>>();
let memoEntries = 0;
const MEMO_MAX_ENTRIES = 8192;
const MEMO_MAX_SUBJECT = 1024;

function regexMatch(ctx: BuiltinContext, p: Value, s: Value): boolean {
  const r = re(ctx, p);
  const pattern = p as string;
  const subject = str(s, 2);
  if (subject.length > MEMO_MAX_SUBJECT || pattern.length > MEMO_MAX_SUBJECT) return r.matcher(subject).find();
  let memo = matchMemo.get(pattern);
  const hit = memo?.get(subject);
  if (hit !== undefined) return hit;
  const out = r.matcher(subject).find();
  if (memoEntries >= MEMO_MAX_ENTRIES) {
    matchMemo.clear();
    memoEntries = 0;
    memo = undefined;
  }
  if (!memo) matchMemo.set(pattern, (memo = new Map()));
  memo.set(subject, out);
  memoEntries++;
  return out;
}

export const regexBuiltins: Builtin[] = [
  def('regex.match', 2, ([p, s], ctx) => regexMatch(ctx, p as Value, s as Value)),
  def('re_match', 2, ([p, s], ctx) => regexMatch(ctx, p as Value, s as Value)),
  def('regex.is_valid', 1, ([p], ctx) => {
    if (typeof p !== 'string') return false;
    try {
      compileRegex(p, ctx.regexCache);
      return true;
    } catch {
      return false;
    }
  }),
  def('regex.find_n', 3, ([p, s, n], ctx) =>
    findAll(re(ctx, p as Value), str(s as Value, 2), int(n as Value, 3)).map((m) => m.groups[0] as string),
  ),
  def('regex.find_all_string_submatch_n', 3, ([p, s, n], ctx) =>
    findAll(re(ctx, p as Value), str(s as Value, 2), int(n as Value, 3)).map((m) => m.groups),
  ),
  def('regex.split', 2, ([p, s], ctx) => {
    const x = str(s as Value, 2);
    const ms = findAll(re(ctx, p as Value), x, -1);
    const out: string[] = [];
    let last = 0;
    for (const m of ms) {
      if (m.end === 0 && m.start === 0) continue;
      out.push(x.slice(last, m.start));
      last = m.end;
    }
    out.push(x.slice(last));
    return out;
  }),
  def('regex.replace', 3, ([s, p, r], ctx) => {
    const x = str(s as Value);
    const rep = str(r as Value, 3);
    return re(ctx, p as Value)
      .matcher(x)
      .replaceAll(rep.replace(/\$\{?(\w+)\}?/g, (_m, g: string) => (/^\d+$/.test(g) ? `$${g}` : `\${${g}}`)));
  }),
  def('regex.template_match', 4, () => fail('regex.template_match is not supported')),
  def('regex.globs_match', 2, () => fail('regex.globs_match is not supported')),
];
