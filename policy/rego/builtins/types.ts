/** Builtin function signature shared by all builtin modules. */
import { BuiltinError } from '../errors.js';
import { RObject, RSet, typeName, type Value } from '../value.js';

export interface BuiltinContext {
  readonly regexCache: Map<string, unknown>;
  readonly prints: Array<{ file: string; line: number; parts: unknown }>;
}

export interface Builtin {
  name: string;
  /** Number of arguments; -1 for variadic. */
  arity: number;
  fn(args: Value[], ctx: BuiltinContext): Value | undefined;
}

export function def(name: string, arity: number, fn: Builtin['fn']): Builtin {
  return { name, arity, fn };
}

export function fail(msg: string): never {
  throw new BuiltinError(msg);
}

function want(v: Value, t: string, pos: number): never {
  fail(`operand ${pos} must be ${t} but got ${typeName(v)}`);
}

export function str(v: Value, pos = 1): string {
  return typeof v === 'string' ? v : want(v, 'string', pos);
}
export function num(v: Value, pos = 1): number {
  return typeof v === 'number' ? v : want(v, 'number', pos);
}
export function int(v: Value, pos = 1): number {
  const n = num(v, pos);
  if (!Number.isInteger(n)) fail(`operand ${pos} must be an integer but got ${n}`);
  return n;
}
export function arr(v: Value, pos = 1): Value[] {
  return Array.isArray(v) ? v : want(v, 'array', pos);
}
export function obj(v: Value, pos = 1): RObject {
  return v instanceof RObject ? v : want(v, 'object', pos);
}
export function set(v: Value, pos = 1): RSet {
  return v instanceof RSet ? v : want(v, 'set', pos);
}
export function bool(v: Value, pos = 1): boolean {
  return typeof v === 'boolean' ? v : want(v, 'boolean', pos);
}
/** Elements of an array or set (sets in sorted order). */
export function collection(v: Value, pos = 1): Value[] {
  if (Array.isArray(v)) return v;
  if (v instanceof RSet) return v.sorted();
  return want(v, 'array or set', pos);
}
