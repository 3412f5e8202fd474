/** Conformance cases that currently fail, with the reason (kept exact by conformance.test.ts). */
export const KNOWN_FAILURES: ReadonlyMap<string, string> = new Map([
  [
    'binding/bindings.yaml | assignment-colonequals-cannot-rebind',
    'regorus compile-time binding diagnostics (rebinding, destructuring arity) not implemented',
  ],
  [
    'binding/bindings.yaml | equals-incompatible-patterns-error',
    'regorus compile-time binding diagnostics (rebinding, destructuring arity) not implemented',
  ],
  [
    'binding/bindings.yaml | equals-array-size-mismatch-error',
    'regorus compile-time binding diagnostics (rebinding, destructuring arity) not implemented',
  ],
  [
    'binding/bindings.yaml | equals-array-literal-length-mismatch-error',
    'regorus compile-time binding diagnostics (rebinding, destructuring arity) not implemented',
  ],
  [
    'binding/bindings.yaml | equals-object-literal-keys-mismatch-error',
    'regorus compile-time binding diagnostics (rebinding, destructuring arity) not implemented',
  ],
  [
    'binding/bindings.yaml | dynamic-object-field-binding',
    'regorus compile-time binding diagnostics (rebinding, destructuring arity) not implemented',
  ],
  [
    'binding/bindings.yaml | some-in-array-length-mismatch-error',
    'regorus compile-time binding diagnostics (rebinding, destructuring arity) not implemented',
  ],
  [
    'binding/bindings.yaml | some-in-shadowing',
    'regorus compile-time binding diagnostics (rebinding, destructuring arity) not implemented',
  ],
  [
    'binding/bindings.yaml | some-in-shadowing-equals',
    'regorus compile-time binding diagnostics (rebinding, destructuring arity) not implemented',
  ],
  [
    'binding/bindings.yaml | some-in-after-shadows',
    'regorus compile-time binding diagnostics (rebinding, destructuring arity) not implemented',
  ],
  [
    'binding/bindings.yaml | parameter-nested-destructuring-colonequals-error',
    'regorus compile-time binding diagnostics (rebinding, destructuring arity) not implemented',
  ],
  [
    'binding/bindings.yaml | colon-equals-parameter-rebinding-error',
    'regorus compile-time binding diagnostics (rebinding, destructuring arity) not implemented',
  ],
  [
    'builtins/arrays/slice.yaml | all',
    'array.slice with non-integer bounds: regorus truncates, ccgpu raises a type error',
  ],
  [
    'builtins/comparison/tests.yaml | order',
    'regorus orders sets before objects; ccgpu uses OPA order (objects before sets)',
  ],
  [
    'builtins/numbers/mod.yaml | integral float too large to convert',
    'integral floats beyond 2^53 are not distinguished from integers (JS numbers)',
  ],
  ['builtins/objects/json.filter.yaml | all', 'json.filter on set/array paths differs'],
  [
    'builtins/objects/json.patch.yaml | set remove addresses the member by value with an array-form path',
    'json.patch edge cases (set members, root operations, index syntax) differ from regorus',
  ],
  [
    'builtins/objects/json.patch.yaml | set move removes and reinserts a member by value with array-form paths',
    'json.patch edge cases (set members, root operations, index syntax) differ from regorus',
  ],
  [
    'builtins/objects/json.patch.yaml | array-form path rejects an integral float index',
    'json.patch edge cases (set members, root operations, index syntax) differ from regorus',
  ],
  [
    'builtins/objects/json.patch.yaml | root add after root remove restores the document',
    'json.patch edge cases (set members, root operations, index syntax) differ from regorus',
  ],
  [
    'builtins/objects/json.patch.yaml | copy nested value inside a set member',
    'json.patch edge cases (set members, root operations, index syntax) differ from regorus',
  ],
  [
    'builtins/objects/json.patch.yaml | test nested value inside a set member',
    'json.patch edge cases (set members, root operations, index syntax) differ from regorus',
  ],
  [
    'builtins/objects/json.patch.yaml | reject leading zero array index',
    'json.patch edge cases (set members, root operations, index syntax) differ from regorus',
  ],
  ['builtins/strings/indexof.yaml | invalid-null-substring', 'regorus-specific behaviour not reproduced'],
  ['builtins/strings/indexof.yaml | invalid-bool-substring', 'regorus-specific behaviour not reproduced'],
  ['builtins/strings/indexof.yaml | invalid-number-substring', 'regorus-specific behaviour not reproduced'],
  ['builtins/strings/indexof.yaml | invalid-array-substring', 'regorus-specific behaviour not reproduced'],
  ['builtins/strings/indexof.yaml | invalid-set-substring', 'regorus-specific behaviour not reproduced'],
  ['builtins/strings/indexof.yaml | invalid-object-substring', 'regorus-specific behaviour not reproduced'],
  [
    'builtins/strings/sprintf.yaml | numeric formatting',
    'Go fmt corner cases (float %v, missing-argument errors) differ',
  ],
  ['builtins/strings/sprintf.yaml | error cases', 'Go fmt corner cases (float %v, missing-argument errors) differ'],
  ['builtins/units/parse.yaml | all', 'units.parse edge cases (exponent suffixes, space handling) differ'],
  ['builtins/units/parse.yaml | space', 'units.parse edge cases (exponent suffixes, space handling) differ'],
  [
    'builtins/units/parse.yaml | b suffix not supported',
    'units.parse edge cases (exponent suffixes, space handling) differ',
  ],
  ['builtins/units/parse_bytes.yaml | all', 'units.parse_bytes edge cases differ'],
  ['builtins/units/parse_bytes.yaml | space', 'units.parse_bytes edge cases differ'],
  ['call/basic.yaml | multiline-member-access-should-error', 'whitespace between "." and a field name is accepted'],
  [
    'compr/array-vs-compr-tricky.yaml | case2-array',
    'ambiguous `[x | y, z]` array-vs-comprehension parse not implemented',
  ],
  [
    'compr/array-vs-compr-tricky.yaml | case3-compr',
    'ambiguous `[x | y, z]` array-vs-comprehension parse not implemented',
  ],
  [
    'compr/array-vs-compr-tricky.yaml | case4-array',
    'ambiguous `[x | y, z]` array-vs-comprehension parse not implemented',
  ],
  [
    'compr/array-vs-compr-tricky.yaml | case5-array',
    'ambiguous `[x | y, z]` array-vs-comprehension parse not implemented',
  ],
  [
    'compr/array-vs-compr-tricky.yaml | case6-compr',
    'ambiguous `[x | y, z]` array-vs-comprehension parse not implemented',
  ],
  [
    'compr/tricky.yaml | treat { 1 | 1 } as comprehension',
    'ambiguous `{1 | 1}` / object-comprehension rule-body parse not implemented',
  ],
  [
    'compr/tricky.yaml | rule body is object comprehension',
    'ambiguous `{1 | 1}` / object-comprehension rule-body parse not implemented',
  ],
  [
    'data/tests.yaml | numbers are converted to string as needed when indexing data',
    'numeric-key coercion and `with` overrides of base data refs differ',
  ],
  [
    'data/tests.yaml | overriding refs in data produces no error',
    'numeric-key coercion and `with` overrides of base data refs differ',
  ],
  ['default/basic.yaml | basic', 'compile-time validation of default values and ref-head defaults not implemented'],
  [
    'default/basic.yaml | invalid-refdot',
    'compile-time validation of default values and ref-head defaults not implemented',
  ],
  [
    'default/basic.yaml | invalid-refbrack',
    'compile-time validation of default values and ref-head defaults not implemented',
  ],
  [
    'default/basic.yaml | invalid-binexpr',
    'compile-time validation of default values and ref-head defaults not implemented',
  ],
  [
    'default/basic.yaml | invalid-boolexpr',
    'compile-time validation of default values and ref-head defaults not implemented',
  ],
  [
    'default/basic.yaml | invalid-arithexpr',
    'compile-time validation of default values and ref-head defaults not implemented',
  ],
  [
    'default/basic.yaml | invalid-membership',
    'compile-time validation of default values and ref-head defaults not implemented',
  ],
  [
    'default/basic.yaml | valid-some-vars',
    'compile-time validation of default values and ref-head defaults not implemented',
  ],
  ['engine/tests.yaml | comprehensions in query', 'comprehension results in multi-result queries differ'],
  [
    'import/tests.yaml | with override applies to function call through import',
    '`with` replacement of functions/rules through import aliases not implemented',
  ],
  [
    'import/tests.yaml | with override target written through import alias',
    '`with` replacement of functions/rules through import aliases not implemented',
  ],
  [
    'import/tests.yaml | with override replacement written through import alias',
    '`with` replacement of functions/rules through import aliases not implemented',
  ],
  [
    'import/tests.yaml | with override target written through builtin-shadowing alias',
    '`with` replacement of functions/rules through import aliases not implemented',
  ],
  [
    'import/tests.yaml | with override replacement written through builtin-shadowing alias',
    '`with` replacement of functions/rules through import aliases not implemented',
  ],
  [
    'import/tests.yaml | with override target aliasing a non-function rule overrides the value',
    '`with` replacement of functions/rules through import aliases not implemented',
  ],
  [
    'import/tests.yaml | call to prefix of default function through import is an error',
    '`with` replacement of functions/rules through import aliases not implemented',
  ],
  [
    'import/tests.yaml | overload error does not leak callee module imports',
    '`with` replacement of functions/rules through import aliases not implemented',
  ],
  [
    'import/tests.yaml | with target through dotted bracket key import',
    '`with` replacement of functions/rules through import aliases not implemented',
  ],
  [
    'loop/basic.yaml | early return',
    'regorus early-return for constant rules also skips evaluation errors in later iterations of some bodies',
  ],
  ['loop/chained.yaml | chained', 'chained iteration result differs (not analysed yet)'],
  [
    'query/tests.yaml | multi-expression query in which one expression is false (1)',
    'query with a false non-final expression: regorus reports no result, ccgpu reports false only for the last expression',
  ],
  [
    'rule/dependency.yaml | inter',
    'ref-head rules that reference sibling paths of the same rule are evaluated as one document (recursion error)',
  ],
  [
    'scheduler/tests.yaml | basic',
    'body expressions are evaluated in source order; OPA/regorus reorder them for safety',
  ],
  ['snippets/snippets.yaml | snippet1', 'regorus-specific parsing/evaluation quirks in snippet cases'],
  ['snippets/snippets.yaml | snippet6', 'regorus-specific parsing/evaluation quirks in snippet cases'],
  ['snippets/snippets.yaml | snippet8', 'regorus-specific parsing/evaluation quirks in snippet cases'],
  ['some/tests.yaml | array-length-mismatch', 'regorus-specific behaviour not reproduced'],
  ['some/tests.yaml | invalid-null', 'regorus-specific behaviour not reproduced'],
  ['some/tests.yaml | invalid-bool', 'regorus-specific behaviour not reproduced'],
  ['some/tests.yaml | invalid-number', 'regorus-specific behaviour not reproduced'],
  ['some/tests.yaml | invalid-string', 'regorus-specific behaviour not reproduced'],
  [
    'unary/tests.yaml | unary expr on non literals produces an error',
    'regorus rejects unary minus on non-literals at compile time; ccgpu evaluates it',
  ],
  [
    'unary/tests.yaml | double unary expr',
    'regorus rejects unary minus on non-literals at compile time; ccgpu evaluates it',
  ],
  [
    'unary/tests.yaml | double unary expr double space',
    'regorus rejects unary minus on non-literals at compile time; ccgpu evaluates it',
  ],
]);
