/** The builtin function table. */
import { aggregateBuiltins } from './aggregates.js';
import { arrayBuiltins } from './arrays.js';
import { bitsBuiltins } from './bits.js';
import { encodingBuiltins } from './encoding.js';
import { miscBuiltins } from './misc.js';
import { numberBuiltins } from './numbers.js';
import { objectBuiltins } from './objects.js';
import { regexBuiltins } from './regex.js';
import { stringBuiltins } from './strings.js';
import type { Builtin } from './types.js';

export type { Builtin, BuiltinContext } from './types.js';
export { compileRegex } from './regex.js';
export { applyJsonPatch, parsePointer } from './objects.js';
export { sprintf } from './strings.js';

export const BUILTINS: ReadonlyMap<string, Builtin> = new Map(
  [
    ...aggregateBuiltins,
    ...arrayBuiltins,
    ...bitsBuiltins,
    ...encodingBuiltins,
    ...miscBuiltins,
    ...numberBuiltins,
    ...objectBuiltins,
    ...regexBuiltins,
    ...stringBuiltins,
  ].map((b) => [b.name, b]),
);
