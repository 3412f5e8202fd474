/** RFC 6902 JSON Patch (add, remove, replace, move, copy, test) with RFC 6901 pointers; pure, never mutates input. */
import { isDeepStrictEqual } from 'node:util';
import { GenpolicyError } from './errors.js';

export interface PatchOperation {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  value?: unknown;
  from?: string;
}

type Container = Record<string, unknown> | unknown[];

export function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new GenpolicyError(`JSON pointer "${pointer}" must be empty or start with "/"`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function isContainer(v: unknown): v is Container {
  return typeof v === 'object' && v !== null;
}

function arrayIndex(arr: unknown[], token: string, forAdd: boolean, pointer: string): number {
  if (forAdd && token === '-') return arr.length;
  if (!/^(0|[1-9][0-9]*)$/.test(token))
    throw new GenpolicyError(`JSON pointer "${pointer}": "${token}" is not an array index`);
  const i = Number(token);
  if (i > arr.length || (!forAdd && i === arr.length))
    throw new GenpolicyError(`JSON pointer "${pointer}": index ${i} is out of range`);
  return i;
}

/** Parent container and last token of a pointer (the document must contain the parent). */
function locate(doc: unknown, pointer: string): { parent: Container; key: string } {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) throw new GenpolicyError('JSON pointer to the document root is not supported here');
  let cur: unknown = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(cur, t, false, pointer)];
    else if (isContainer(cur) && Object.prototype.hasOwnProperty.call(cur, t))
      cur = (cur as Record<string, unknown>)[t];
    else throw new GenpolicyError(`JSON pointer "${pointer}": "${t}" does not exist`);
  }
  if (!isContainer(cur)) throw new GenpolicyError(`JSON pointer "${pointer}": parent is not an object or array`);
  return { parent: cur, key: tokens[tokens.length - 1]! };
}

export function getPointer(doc: unknown, pointer: string): unknown {
  let cur: unknown = doc;
  for (const t of parsePointer(pointer)) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(cur, t, false, pointer)];
    else if (isContainer(cur) && Object.prototype.hasOwnProperty.call(cur, t))
      cur = (cur as Record<string, unknown>)[t];
    else throw new GenpolicyError(`JSON pointer "${pointer}": "${t}" does not exist`);
  }
  return cur;
}

function add(doc: unknown, pointer: string, value: unknown): unknown {
  if (pointer === '') return value;
  const { parent, key } = locate(doc, pointer);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, true, pointer), 0, value);
  else parent[key] = value;
  return doc;
}

function remove(doc: unknown, pointer: string): unknown {
  const { parent, key } = locate(doc, pointer);
  let old: unknown;
  if (Array.isArray(parent)) old = parent.splice(arrayIndex(parent, key, false, pointer), 1)[0];
  else {
    if (!Object.prototype.hasOwnProperty.call(parent, key))
      throw new GenpolicyError(`JSON patch remove: "${pointer}" does not exist`);
    old = parent[key];
    delete parent[key];
  }
  return old;
}

/** Applies the operations in order; any failing operation (including a failed `test`) aborts with an error. */
export function applyJsonPatch<T>(doc: T, ops: readonly PatchOperation[], source = 'JSON patch'): T {
  if (!Array.isArray(ops)) throw new GenpolicyError(`${source}: a JSON patch must be an array of operations`);
  let out: unknown = structuredClone(doc);
  ops.forEach((op, i) => {
    const where = `${source} operation ${i} (${JSON.stringify(op?.op)} ${JSON.stringify(op?.path)})`;
    if (!op || typeof op !== 'object' || typeof op.path !== 'string')
      throw new GenpolicyError(`${where}: needs "op" and a string "path"`);
    try {
      switch (op.op) {
        case 'add':
          if (!('value' in op)) throw new GenpolicyError('missing "value"');
          out = add(out, op.path, structuredClone(op.value));
          break;
        case 'remove':
          remove(out, op.path);
          break;
        case 'replace':
          if (!('value' in op)) throw new GenpolicyError('missing "value"');
          if (op.path === '') out = structuredClone(op.value);
          else {
            remove(out, op.path);
            out = add(out, op.path, structuredClone(op.value));
          }
          break;
        case 'move': {
          if (typeof op.from !== 'string') throw new GenpolicyError('missing "from"');
          if (op.path.startsWith(`${op.from}/`)) throw new GenpolicyError('cannot move a value into itself');
          const v = remove(out, op.from);
          out = add(out, op.path, v);
          break;
        }
        case 'copy':
          if (typeof op.from !== 'string') throw new GenpolicyError('missing "from"');
          out = add(out, op.path, structuredClone(getPointer(out, op.from)));
          break;
        case 'test':
          if (!isDeepStrictEqual(getPointer(out, op.path), op.value))
            throw new GenpolicyError(`test failed: value is not ${JSON.stringify(op.value)}`);
          break;
        default:
          throw new GenpolicyError(`unknown op ${JSON.stringify((op as { op: unknown }).op)}`);
      }
    } catch (e) {
      throw new GenpolicyError(`${where}: ${(e as Error).message}`, { file: source }, e);
    }
  });
  return out as T;
}
