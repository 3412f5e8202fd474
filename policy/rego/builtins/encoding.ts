/** Encoding builtins: base64, base64url, hex, json. */
import { fromJS, toJSON, type Value } from '../value.js';
import { def, fail, str, type Builtin } from './types.js';

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;
const B64URL = /^[A-Za-z0-9_-]*={0,2}$/;

function decodeB64(s: string, url: boolean): string {
  const re = url ? B64URL : B64;
  let x = s;
  if (url && x.length % 4 !== 0 && !x.includes('=')) x += '='.repeat((4 - (x.length % 4)) % 4);
  if (!re.test(x) || x.length % 4 !== 0) fail('illegal base64 data');
  const buf = Buffer.from(x, url ? 'base64url' : 'base64');
  return buf.toString('utf8');
}

function parseJSON(s: string): Value {
  try {
    return fromJS(JSON.parse(s));
  } catch (e) {
    return fail(`json: ${(e as Error).message}`);
  }
}

export const encodingBuiltins: Builtin[] = [
  def('base64.encode', 1, ([s]) => Buffer.from(str(s as Value), 'utf8').toString('base64')),
  def('base64.decode', 1, ([s]) => decodeB64(str(s as Value), false)),
  def('base64.is_valid', 1, ([s]) => {
    const x = str(s as Value);
    return B64.test(x) && x.length % 4 === 0;
  }),
  def('base64url.encode', 1, ([s]) => {
    const b = Buffer.from(str(s as Value), 'utf8').toString('base64url');
    return b + '='.repeat((4 - (b.length % 4)) % 4);
  }),
  def('base64url.encode_no_pad', 1, ([s]) => Buffer.from(str(s as Value), 'utf8').toString('base64url')),
  def('base64url.decode', 1, ([s]) => decodeB64(str(s as Value), true)),
  def('hex.encode', 1, ([s]) => Buffer.from(str(s as Value), 'utf8').toString('hex')),
  def('hex.decode', 1, ([s]) => {
    const x = str(s as Value);
    if (!/^([0-9a-fA-F]{2})*$/.test(x)) fail('invalid hex string');
    return Buffer.from(x, 'hex').toString('utf8');
  }),
  def('json.marshal', 1, ([v]) => toJSON(v as Value)),
  def('json.unmarshal', 1, ([s]) => parseJSON(str(s as Value))),
  def('json.is_valid', 1, ([s]) => {
    if (typeof s !== 'string') return false;
    try {
      JSON.parse(s);
      return true;
    } catch {
      return false;
    }
  }),
];
