/** Rego abstract syntax tree produced by the parser and consumed by the evaluator. */
import type { Value } from './value.js';

export interface Loc {
  line: number;
  col: number;
}

/** `sv`: evaluator cache of the local variables a term needs bound to be evaluated directly (null: never). */
export type Term = TermNode & { sv?: string[] | null };

type TermNode =
  | { t: 'scalar'; v: Value; loc: Loc }
  | { t: 'var'; name: string; loc: Loc }
  | { t: 'ref'; head: Term; path: Term[]; loc: Loc }
  | { t: 'array'; items: Term[]; loc: Loc; cv?: Value }
  | { t: 'object'; items: Array<[Term, Term]>; loc: Loc; cv?: Value }
  | { t: 'set'; items: Term[]; loc: Loc; cv?: Value }
  | { t: 'arraycompr'; head: Term; body: Literal[]; loc: Loc }
  | { t: 'setcompr'; head: Term; body: Literal[]; loc: Loc }
  | { t: 'objcompr'; key: Term; value: Term; body: Literal[]; loc: Loc }
  | { t: 'call'; fn: Term; name: string; args: Term[]; loc: Loc; target?: unknown }
  | { t: 'bin'; op: string; l: Term; r: Term; loc: Loc }
  | { t: 'neg'; x: Term; loc: Loc }
  | { t: 'member'; key: Term | undefined; val: Term; coll: Term; loc: Loc };

export interface With {
  target: Term;
  value: Term;
}

export type Literal =
  | { k: 'expr'; term: Term; neg: boolean; with: With[]; loc: Loc }
  | { k: 'unify'; l: Term; r: Term; neg: boolean; with: With[]; loc: Loc }
  | { k: 'assign'; l: Term; r: Term; neg: boolean; with: With[]; loc: Loc }
  | { k: 'some'; vars: string[]; neg: false; with: With[]; loc: Loc }
  | { k: 'somein'; key: Term | undefined; val: Term; coll: Term; neg: boolean; with: With[]; loc: Loc }
  | { k: 'every'; key: Term | undefined; val: Term; coll: Term; body: Literal[]; neg: boolean; with: With[]; loc: Loc };

export interface RuleDef {
  /** Body (empty = always true). */
  body: Literal[];
  /** Value term; undefined means `true`. */
  value: Term | undefined;
  else?: RuleDef;
  loc: Loc;
}

export interface Rule {
  /** Head ref: name followed by the remaining path segments (as terms; `.x` becomes the string "x"). */
  name: string;
  path: Term[];
  args: Term[] | undefined;
  kind: 'complete' | 'contains';
  isDefault: boolean;
  def: RuleDef;
  loc: Loc;
  file: string;
  /** Names declared (some, :=, every, function args) anywhere inside the rule: they never refer to rules. */
  locals: Set<string>;
  /** Filled in when the rule is loaded into an engine. */
  scope?: RuleScope;
}

/** Where a rule lives: its package path and its module's import aliases (alias → ref path). */
export interface RuleScope {
  pkgPath: string[];
  imports: Map<string, string[]>;
  file: string;
}

export interface Import {
  path: string[];
  alias: string;
  loc: Loc;
}

export interface Module {
  file: string;
  pkg: string[];
  imports: Import[];
  rules: Rule[];
  v1: boolean;
}
