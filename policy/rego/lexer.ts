/** Rego lexer: turns source text into tokens, remembering whether a newline preceded each token. */
import { RegoError } from './errors.js';

export type TokType = 'ident' | 'string' | 'rawstring' | 'number' | 'op' | 'eof';

export interface Token {
  type: TokType;
  /** Identifier name, operator text, number text, or the decoded string. */
  v: string;
  line: number;
  col: number;
  /** A newline separates this token from the previous one. */
  nl: boolean;
}

const OPS3 = new Set<string>();
const OPS2 = new Set([':=', '==', '!=', '<=', '>=']);
const OPS1 = new Set([
  '{',
  '}',
  '[',
  ']',
  '(',
  ')',
  '.',
  ',',
  ';',
  ':',
  '=',
  '<',
  '>',
  '+',
  '-',
  '*',
  '/',
  '%',
  '|',
  '&',
]);

export const MAX_LINE_BYTES = 64 * 1024;
export const MAX_SOURCE_BYTES = 16 * 1024 * 1024;

function isIdentStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
}
function isIdentPart(c: number): boolean {
  return isIdentStart(c) || (c >= 48 && c <= 57);
}
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

export function tokenize(src: string, file: string): Token[] {
  if (src.length > MAX_SOURCE_BYTES) {
    throw new RegoError(
      `${file}: policy is ${src.length} bytes; the limit is ${MAX_SOURCE_BYTES} bytes`,
      'rego_parse_error',
    );
  }
  const toks: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  let nl = false;
  const n = src.length;
  const fail = (msg: string): never => {
    throw new RegoError(`${file}:${line}:${i - lineStart + 1}: ${msg}`, 'rego_parse_error');
  };
  const newline = (): void => {
    if (i - lineStart > MAX_LINE_BYTES) fail(`line is longer than ${MAX_LINE_BYTES} bytes`);
    line++;
    lineStart = i + 1;
    nl = true;
  };
  while (i < n) {
    const c = src.charCodeAt(i);
    if (c === 10) {
      newline();
      i++;
      continue;
    }
    if (c === 32 || c === 9 || c === 13) {
      i++;
      continue;
    }
    if (c === 35) {
      // comment
      while (i < n && src.charCodeAt(i) !== 10) i++;
      continue;
    }
    const col = i - lineStart + 1;
    const startLine = line;
    if (isIdentStart(c)) {
      let j = i + 1;
      while (j < n && isIdentPart(src.charCodeAt(j))) j++;
      toks.push({ type: 'ident', v: src.slice(i, j), line, col, nl });
      i = j;
    } else if (isDigit(c)) {
      let j = i;
      while (j < n && isDigit(src.charCodeAt(j))) j++;
      if (src.charCodeAt(j) === 46 && isDigit(src.charCodeAt(j + 1))) {
        j++;
        while (j < n && isDigit(src.charCodeAt(j))) j++;
      }
      const e = src.charCodeAt(j);
      if (e === 101 || e === 69) {
        let k = j + 1;
        if (src[k] === '+' || src[k] === '-') k++;
        if (isDigit(src.charCodeAt(k))) {
          j = k;
          while (j < n && isDigit(src.charCodeAt(j))) j++;
        }
      }
      if (j < n && isIdentStart(src.charCodeAt(j))) fail(`invalid number "${src.slice(i, j + 1)}"`);
      toks.push({ type: 'number', v: src.slice(i, j), line, col, nl });
      i = j;
    } else if (c === 34) {
      // "string"
      let j = i + 1;
      let out = '';
      let segStart = j;
      for (;;) {
        if (j >= n || src.charCodeAt(j) === 10) fail('unterminated string');
        const d = src.charCodeAt(j);
        if (d === 34) break;
        if (d === 92) {
          out += src.slice(segStart, j);
          const e = src[j + 1];
          switch (e) {
            case '"':
              out += '"';
              break;
            case '\\':
              out += '\\';
              break;
            case '/':
              out += '/';
              break;
            case 'b':
              out += '\b';
              break;
            case 'f':
              out += '\f';
              break;
            case 'n':
              out += '\n';
              break;
            case 'r':
              out += '\r';
              break;
            case 't':
              out += '\t';
              break;
            case 'u': {
              const hex = src.slice(j + 2, j + 6);
              if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('invalid \\u escape in string');
              out += String.fromCharCode(parseInt(hex, 16));
              j += 4;
              break;
            }
            default:
              fail(`invalid escape "\\${e ?? ''}" in string`);
          }
          j += 2;
          segStart = j;
          continue;
        }
        j++;
      }
      out += src.slice(segStart, j);
      toks.push({ type: 'string', v: out, line, col, nl });
      i = j + 1;
    } else if (c === 96) {
      // `raw string`
      const j = src.indexOf('`', i + 1);
      if (j < 0) fail('unterminated raw string');
      const s = src.slice(i + 1, j);
      toks.push({ type: 'rawstring', v: s, line: startLine, col, nl });
      for (let k = i + 1; k < j; k++) {
        if (src.charCodeAt(k) === 10) {
          line++;
          lineStart = k + 1;
        }
      }
      i = j + 1;
    } else {
      const two = src.slice(i, i + 2);
      const three = src.slice(i, i + 3);
      let op: string | undefined;
      if (OPS3.has(three)) op = three;
      else if (OPS2.has(two)) op = two;
      else if (OPS1.has(src[i] as string)) op = src[i];
      if (!op) fail(`unexpected character ${JSON.stringify(src[i])}`);
      toks.push({ type: 'op', v: op as string, line, col, nl });
      i += (op as string).length;
    }
    nl = false;
  }
  if (i - lineStart > MAX_LINE_BYTES) fail(`line is longer than ${MAX_LINE_BYTES} bytes`);
  toks.push({ type: 'eof', v: '', line, col: i - lineStart + 1, nl: true });
  return toks;
}
