/** Rego engine: parser, evaluator and builtins (a standalone library; no imports from src/). */
export { Engine, PrintBatch, type EngineOptions, type QueryResult } from './engine.js';
export { RegoError, BuiltinError, InvalidRegexError, type RegoErrorCode } from './errors.js';
export { parseModule, parseQuery, type ParseOptions } from './parser.js';
export { compileRegex, applyJsonPatch, sprintf } from './builtins/index.js';
export { fromJS, toJS, formatValue, equal, compare, RObject, RSet, type Value } from './value.js';
export { MAX_LINE_BYTES, MAX_SOURCE_BYTES } from './lexer.js';
export type { LiteralFailure } from './evaluator.js';
