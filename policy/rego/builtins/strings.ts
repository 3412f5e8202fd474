/** String builtins (indices and lengths count Unicode code points, as OPA counts runes). */
import { formatValue, RSet, type Value } from '../value.js';
import { arr, collection, def, fail, int, num, str, type Builtin } from './types.js';

function cps(s: string): string[] {
  return [...s];
}

const SURROGATE = /[\ud800-\udfff]/;

/** Every occurrence of a non-empty `old` replaced by `rep`, both literal text (no `$&` patterns). */
function replaceLiteral(x: string, old: string, rep: string): string {
  let i = x.indexOf(old);
  if (i < 0) return x;
  let out = '';
  let last = 0;
  while (i >= 0) {
    out += x.slice(last, i) + rep;
    last = i + old.length;
    i = x.indexOf(old, last);
  }
  return out + x.slice(last);
}

function trimChars(s: string, cut: string, left: boolean, right: boolean): string {
  if (!SURROGATE.test(s) && !SURROGATE.test(cut)) {
    // no surrogate pairs: work on UTF-16 code units directly
    let i = 0;
    let j = s.length;
    if (left) while (i < j && cut.includes(s[i] as string)) i++;
    if (right) while (j > i && cut.includes(s[j - 1] as string)) j--;
    return s.slice(i, j);
  }
  const chars = new Set(cps(cut));
  const a = cps(s);
  let i = 0;
  let j = a.length;
  if (left) while (i < j && chars.has(a[i] as string)) i++;
  if (right) while (j > i && chars.has(a[j - 1] as string)) j--;
  return a.slice(i, j).join('');
}

function goVerb(verb: string, flags: string, width: string, prec: string | undefined, arg: Value): string {
  let s: string;
  switch (verb) {
    case 'd':
      if (typeof arg !== 'number') return `%!d(${typeof arg})`;
      s = String(Math.trunc(arg));
      break;
    case 'f':
    case 'F':
      // regorus prints the shortest representation when no precision is given
      s = prec === undefined ? String(num(arg)) : num(arg).toFixed(Number(prec));
      break;
    case 'e':
      s = num(arg)
        .toExponential(prec === undefined ? 6 : Number(prec))
        .replace(/e([+-])(\d)$/, 'e$10$2');
      break;
    case 'g':
    case 'G':
      s = prec === undefined ? String(num(arg)) : num(arg).toPrecision(Number(prec));
      break;
    case 'x':
    case 'X':
      s = typeof arg === 'number' ? Math.trunc(arg).toString(16) : Buffer.from(str(arg)).toString('hex');
      if (verb === 'X') s = s.toUpperCase();
      break;
    case 'o':
      s = '0O' + Math.trunc(num(arg)).toString(8); // regorus renders %o like Go's %O
      break;
    case 'b':
      s = Math.trunc(num(arg)).toString(2);
      break;
    case 'q':
      s = JSON.stringify(typeof arg === 'string' ? arg : formatValue(arg));
      break;
    case 't':
      s = String(arg);
      break;
    case 's':
    case 'v':
    default:
      s = typeof arg === 'string' ? arg : typeof arg === 'number' ? String(arg) : formatValue(arg, false);
      if (verb === 's' && prec !== undefined) s = cps(s).slice(0, Number(prec)).join('');
  }
  if (flags.includes('+') && typeof arg === 'number' && arg >= 0 && 'dfeg'.includes(verb)) s = '+' + s;
  const w = width ? Number(width) : 0;
  if (s.length < w) {
    if (flags.includes('-')) s = s.padEnd(w);
    else if (flags.includes('0') && typeof arg === 'number') {
      const neg = s.startsWith('-') || s.startsWith('+');
      s = neg ? s[0] + s.slice(1).padStart(w - 1, '0') : s.padStart(w, '0');
    } else s = s.padStart(w);
  }
  return s;
}

export function sprintf(format: string, args: Value[]): string {
  let i = 0;
  return format.replace(
    /%([-+# 0]*)(\d*)(?:\.(\d+))?([a-zA-Z%])/g,
    (_m, flags: string, width: string, prec: string | undefined, verb: string) => {
      if (verb === '%') return '%';
      if (i >= args.length) fail(`no argument specified for format verb ${i}`);
      return goVerb(verb, flags, width, prec, args[i++] as Value);
    },
  );
}

export const stringBuiltins: Builtin[] = [
  def('concat', 2, ([d, xs]) => {
    // operand checks in OPA's order: the collection, its items, then the separator
    const items = collection(xs as Value, 2);
    for (let i = 0; i < items.length; i++) str(items[i] as Value, 2);
    const sep = str(d as Value);
    let out = '';
    for (let i = 0; i < items.length; i++) out += (i ? sep : '') + (items[i] as string);
    return out;
  }),
  def('contains', 2, ([a, b]) => str(a as Value).includes(str(b as Value, 2))),
  def('startswith', 2, ([a, b]) => str(a as Value).startsWith(str(b as Value, 2))),
  def('endswith', 2, ([a, b]) => str(a as Value).endsWith(str(b as Value, 2))),
  def('lower', 1, ([a]) => str(a as Value).toLowerCase()),
  def('upper', 1, ([a]) => str(a as Value).toUpperCase()),
  def('replace', 3, ([s, o, n]) => {
    const x = str(s as Value);
    const old = str(o as Value, 2);
    const rep = str(n as Value, 3);
    // an empty pattern matches before every character and at the end (Rust's and Go's str replace)
    if (old === '') return x === '' ? rep : rep + [...x].join(rep) + rep;
    return replaceLiteral(x, old, rep);
  }),
  def('strings.replace_n', 2, ([pats, s]) => {
    let out = str(s as Value, 2);
    const o = pats as Value;
    if (!(o && typeof o === 'object' && 'entries' in o && !(o instanceof RSet))) fail('operand 1 must be an object');
    const entries = (o as { entries(): Array<[Value, Value]> }).entries();
    // Like Go's strings.NewReplacer: single pass, earliest match, first pattern in argument order wins.
    let res = '';
    let i = 0;
    outer: while (i < out.length) {
      for (const [k, v] of entries) {
        const ks = str(k);
        if (ks.length && out.startsWith(ks, i)) {
          res += str(v);
          i += ks.length;
          continue outer;
        }
      }
      res += out[i];
      i++;
    }
    out = res;
    return out;
  }),
  def('split', 2, ([s, d]) => {
    const x = str(s as Value);
    const sep = str(d as Value, 2);
    if (sep === '') return cps(x);
    return x.split(sep);
  }),
  def('substring', 3, ([s, st, ln]) => {
    const a = cps(str(s as Value));
    const start = int(st as Value, 2);
    const len = int(ln as Value, 3);
    if (start < 0) fail('negative offset');
    if (start >= a.length) return '';
    if (len < 0) return a.slice(start).join('');
    return a.slice(start, start + len).join('');
  }),
  def('indexof', 2, ([s, sub]) => {
    const a = str(s as Value);
    const b = str(sub as Value, 2);
    if (a === '') return -1; // as regorus: nothing is found in the empty string
    const i = a.indexOf(b);
    return i < 0 ? -1 : cps(a.slice(0, i)).length;
  }),
  def('indexof_n', 2, ([s, sub]) => {
    const a = str(s as Value);
    const b = str(sub as Value, 2);
    const out: number[] = [];
    if (b === '') return out;
    let i = a.indexOf(b);
    while (i >= 0) {
      out.push(cps(a.slice(0, i)).length);
      i = a.indexOf(b, i + 1);
    }
    return out;
  }),
  def('trim', 2, ([s, c]) => trimChars(str(s as Value), str(c as Value, 2), true, true)),
  def('trim_left', 2, ([s, c]) => trimChars(str(s as Value), str(c as Value, 2), true, false)),
  def('trim_right', 2, ([s, c]) => trimChars(str(s as Value), str(c as Value, 2), false, true)),
  def('trim_prefix', 2, ([s, p]) => {
    const x = str(s as Value);
    const pre = str(p as Value, 2);
    return x.startsWith(pre) ? x.slice(pre.length) : x;
  }),
  def('trim_suffix', 2, ([s, p]) => {
    const x = str(s as Value);
    const suf = str(p as Value, 2);
    return suf && x.endsWith(suf) ? x.slice(0, x.length - suf.length) : x;
  }),
  def('trim_space', 1, ([s]) => str(s as Value).trim()),
  def('format_int', 2, ([n, b]) => {
    const base = int(b as Value, 2);
    if (![2, 8, 10, 16].includes(base)) fail('operand 2 must be one of {2, 8, 10, 16}');
    const x = num(n as Value);
    const t = x < 0 ? Math.ceil(x) : Math.floor(x);
    return t.toString(base);
  }),
  def('sprintf', 2, ([f, a]) => sprintf(str(f as Value), arr(a as Value, 2))),
  def('strings.any_prefix_match', 2, ([s, p]) => {
    const xs = typeof s === 'string' ? [s] : collection(s as Value).map((x) => str(x));
    const ps = typeof p === 'string' ? [p] : collection(p as Value, 2).map((x) => str(x, 2));
    return xs.some((x) => ps.some((q) => x.startsWith(q)));
  }),
  def('strings.any_suffix_match', 2, ([s, p]) => {
    const xs = typeof s === 'string' ? [s] : collection(s as Value).map((x) => str(x));
    const ps = typeof p === 'string' ? [p] : collection(p as Value, 2).map((x) => str(x, 2));
    return xs.some((x) => ps.some((q) => x.endsWith(q)));
  }),
  def('strings.count', 2, ([s, sub]) => {
    const a = str(s as Value);
    const b = str(sub as Value, 2);
    if (b === '') return cps(a).length + 1;
    return a.split(b).length - 1;
  }),
  def('strings.reverse', 1, ([s]) =>
    cps(str(s as Value))
      .reverse()
      .join(''),
  ),
];
