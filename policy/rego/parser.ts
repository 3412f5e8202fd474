/**
 * Rego parser (v0 and v1 syntax). By default the parser is lenient and accepts both dialects in one module, as
 * regorus does for the Kata policies; with `regoV1: true` it rejects v0-only rule bodies (a body without `if`).
 */
import type { Import, Literal, Loc, Module, Rule, RuleDef, Term, With } from './ast.js';
import { RegoError } from './errors.js';
import { tokenize, type Token } from './lexer.js';
import type { Value } from './value.js';

export interface ParseOptions {
  /** Reject Rego v0-only syntax (rule bodies without `if`, multi-value rules without `contains`). */
  regoV1?: boolean;
}

const INFIX_LEVELS: string[][] = [
  ['in'],
  ['==', '!=', '<', '<=', '>', '>='],
  ['|'],
  ['&'],
  ['+', '-'],
  ['*', '/', '%'],
];

class Parser {
  private pos = 0;
  /** Stack of "are newlines significant here" flags. */
  private nlStack: boolean[] = [true];
  private moduleV1 = false;
  private sawFuture = false;
  /** Bracketed terms (`[...]`, `{...}`) parsed at a token position: backtracking never re-parses them. */
  private readonly bracketMemo = new Map<number, { term: Term; end: number } | { error: unknown }>();

  constructor(
    private readonly toks: Token[],
    private readonly file: string,
    private readonly opts: ParseOptions,
  ) {}

  private get tok(): Token {
    return this.toks[this.pos] as Token;
  }
  private peek(o = 1): Token {
    return this.toks[Math.min(this.pos + o, this.toks.length - 1)] as Token;
  }
  private next(): Token {
    const t = this.tok;
    if (this.pos < this.toks.length - 1) this.pos++;
    return t;
  }
  private nlSig(): boolean {
    return this.nlStack[this.nlStack.length - 1] as boolean;
  }
  private isOp(v: string, t = this.tok): boolean {
    return t.type === 'op' && t.v === v;
  }
  private isKw(v: string, t = this.tok): boolean {
    return t.type === 'ident' && t.v === v;
  }
  /** Current token continues the expression on this line (or newlines are insignificant here). */
  private sameLine(t = this.tok): boolean {
    return !t.nl || !this.nlSig();
  }
  fail(msg: string, t: Token = this.tok): never {
    const what = t.type === 'eof' ? 'end of file' : JSON.stringify(t.v);
    throw new RegoError(`${this.file}:${t.line}:${t.col}: ${msg} (found ${what})`, 'rego_parse_error');
  }
  private expectOp(v: string): Token {
    if (!this.isOp(v)) this.fail(`expected "${v}"`);
    return this.next();
  }
  private loc(t = this.tok): Loc {
    return { line: t.line, col: t.col };
  }
  private withNl<T>(sig: boolean, f: () => T): T {
    this.nlStack.push(sig);
    try {
      return f();
    } finally {
      this.nlStack.pop();
    }
  }

  // ---------------------------------------------------------------- module

  parseModule(): Module {
    while (this.isOp(';')) this.next();
    if (!this.isKw('package')) this.fail('expected "package"');
    this.next();
    const pkg = this.parseDottedName('package');
    const imports: Import[] = [];
    const rules: Rule[] = [];
    for (;;) {
      while (this.isOp(';')) this.next();
      if (this.tok.type === 'eof') break;
      if (this.isKw('import')) {
        const imp = this.parseImport();
        if (imp) imports.push(imp);
        continue;
      }
      rules.push(...this.parseRule());
    }
    return { file: this.file, pkg, imports, rules, v1: this.moduleV1 || !!this.opts.regoV1 };
  }

  private parseDottedName(what: string): string[] {
    const out: string[] = [];
    const t = this.next();
    if (t.type !== 'ident') this.fail(`expected a name after ${what}`, t);
    out.push(t.v);
    for (;;) {
      if (this.isOp('.') && this.sameLine()) {
        this.next();
        const n = this.next();
        if (n.type !== 'ident') this.fail('expected a name', n);
        out.push(n.v);
      } else if (this.isOp('[') && this.sameLine()) {
        this.next();
        const s = this.next();
        if (s.type !== 'string') this.fail('expected a string', s);
        out.push(s.v);
        this.expectOp(']');
      } else break;
    }
    return out;
  }

  private parseImport(): Import | undefined {
    const start = this.next();
    const path = this.parseDottedName('import');
    let alias = path[path.length - 1] as string;
    if (this.isKw('as') && this.sameLine()) {
      this.next();
      const a = this.next();
      if (a.type !== 'ident') this.fail('expected an alias name', a);
      alias = a.v;
    }
    const head = path[0];
    if (head === 'future' || head === 'rego') {
      if (head === 'rego' && path[1] === 'v1') {
        if (this.sawFuture || this.moduleV1) this.fail('this import shadows previous import', start);
        this.moduleV1 = true;
      } else {
        if (this.moduleV1) this.fail('this import shadows previous import', start);
        this.sawFuture = true;
      }
      if (head === 'future' && path[1] !== 'keywords') this.fail('unknown future import', start);
      return undefined;
    }
    if (head !== 'data' && head !== 'input') {
      throw new RegoError(
        `${this.file}:${start.line}:${start.col}: import path must begin with data or input`,
        'rego_parse_error',
      );
    }
    return { path, alias, loc: this.loc(start) };
  }

  private parseRule(): Rule[] {
    const start = this.tok;
    let isDefault = false;
    if (this.isKw('default')) {
      isDefault = true;
      this.next();
    }
    const nameTok = this.next();
    if (nameTok.type !== 'ident') this.fail('expected a rule name', nameTok);
    const path: Term[] = [];
    let args: Term[] | undefined;
    // head ref
    for (;;) {
      if (this.isOp('.') && !this.tok.nl) {
        this.next();
        const n = this.next();
        if (n.type !== 'ident') this.fail('expected a name', n);
        path.push({ t: 'scalar', v: n.v, loc: this.loc(n) });
      } else if (this.isOp('[') && !this.tok.nl) {
        this.next();
        path.push(this.withNl(false, () => this.parseTerm()));
        this.expectOp(']');
      } else break;
    }
    if (this.isOp('(') && !this.tok.nl) {
      this.next();
      args = this.withNl(false, () => this.parseTermList(')'));
      this.expectOp(')');
    }
    const rule: Rule = {
      name: nameTok.v,
      path,
      args,
      kind: 'complete',
      isDefault,
      def: { body: [], value: undefined, loc: this.loc(start) },
      loc: this.loc(start),
      file: this.file,
      locals: new Set(),
    };
    if (isDefault) {
      if (!(this.isOp('=') || this.isOp(':='))) this.fail('expected "=" or ":=" after default rule name');
      this.next();
      rule.def.value = this.parseTerm();
      if (this.isKw('in')) this.fail('unexpected keyword `in`');
      checkDefaultValue(rule.def.value, (msg, t) => this.fail(msg, t));
      return [this.finish(rule)];
    }
    let explicitValue = false;
    if (this.isKw('contains') && this.sameLine()) {
      this.next();
      rule.kind = 'contains';
      rule.def.value = this.parseTerm();
    } else if ((this.isOp('=') || this.isOp(':=')) && this.sameLine()) {
      this.next();
      rule.def.value = this.parseTerm();
      explicitValue = true;
    }
    if (!explicitValue && rule.kind === 'complete' && path.length > 0 && !args) {
      // `p[x] { ... }`: v0 partial set unless the module is v1 (then it is `p[x] := true`).
      const last = path[path.length - 1] as Term;
      const v1 = this.moduleV1 || this.opts.regoV1;
      if (!v1) {
        rule.kind = 'contains';
        rule.def.value = last;
        path.pop();
      }
    }
    const v1 = this.moduleV1 || !!this.opts.regoV1;
    if (v1 && (rule.name === 'input' || rule.name === 'data')) this.fail(`${rule.name} cannot be shadowed`, start);
    const hasIf = this.parseRuleBody(rule.def, true);
    if (v1 && !hasIf && rule.def.body.length > 0) this.fail('`if` keyword is required before rule body', start);
    if (v1 && !hasIf && rule.def.body.length === 0 && rule.def.value === undefined && rule.kind === 'complete') {
      if (path.length === 0 && !args) this.fail('rule must have a body', start);
      if (path.length === 1) this.fail('`contains` keyword is required for partial set rules', start);
      this.fail('rule must have a body or assignment', start);
    }
    // else chain
    let cur: RuleDef = rule.def;
    while (this.isKw('else')) {
      const et = this.next();
      const e: RuleDef = { body: [], value: undefined, loc: this.loc(et) };
      if (this.isOp('=') || this.isOp(':=')) {
        this.next();
        e.value = this.parseTerm();
      }
      const elseIf = this.parseRuleBody(e, true);
      if (v1 && !elseIf && e.body.length > 0) this.fail('`if` keyword is required before rule body', et);
      cur.else = e;
      cur = e;
    }
    const out = [this.finish(rule)];
    // v0: additional bodies `p { a } { b }`
    while (this.isOp('{') && !this.tok.nl) {
      const extra: Rule = { ...rule, def: { body: [], value: rule.def.value, loc: this.loc() }, locals: new Set() };
      this.parseRuleBody(extra.def, false);
      out.push(this.finish(extra));
    }
    return out;
  }

  /** Parses an optional `if` and body; returns whether `if` was present. */
  private parseRuleBody(def: RuleDef, allowIf: boolean): boolean {
    let hasIf = false;
    if (allowIf && this.isKw('if') && this.sameLine()) {
      this.next();
      hasIf = true;
      if (this.isOp('{')) {
        def.body = this.parseBraceBodyOrTerm();
      } else {
        def.body = this.withNl(true, () => [this.parseLiteral()]);
      }
      return true;
    }
    // A `{` that starts a line cannot begin a new statement at module level, so it is this rule's body
    // (regorus and OPA accept `p contains x` followed by its body on a later line).
    if (this.isOp('{') && (this.sameLine() || (allowIf && this.nlStack.length === 1))) {
      this.next();
      def.body = this.parseBodyUntil('}');
      this.expectOp('}');
    }
    return hasIf;
  }

  /** After `if`, `{` starts a body (OPA never treats it as an object literal there). */
  private parseBraceBodyOrTerm(): Literal[] {
    // `if { 1 | 1 }` / `if { k: v | body }`: regorus reads a lone comprehension as the body's only expression
    const start = this.tok;
    const compr = this.attempt(() => {
      const t = this.parsePrimary();
      if (t.t !== 'setcompr' && t.t !== 'objcompr') this.fail('not a comprehension');
      if (!(this.tok.nl || this.tok.type === 'eof' || this.isKw('else') || this.isOp(';'))) this.fail('not alone');
      return t;
    });
    if (compr) return [{ k: 'expr', term: compr, neg: false, with: [], loc: this.loc(start) }];
    this.expectOp('{');
    const body = this.parseBodyUntil('}');
    this.expectOp('}');
    return body;
  }

  private finish(rule: Rule): Rule {
    const locals = rule.locals;
    if (rule.args) for (const a of rule.args) collectVars(a, locals);
    let d: RuleDef | undefined = rule.def;
    while (d) {
      collectDeclared(d.body, locals);
      if (d.value) collectDeclaredTerm(d.value, locals);
      d = d.else;
    }
    return rule;
  }

  // ---------------------------------------------------------------- bodies

  parseBodyUntil(close: string): Literal[] {
    return this.withNl(true, () => {
      const lits: Literal[] = [];
      for (;;) {
        while (this.isOp(';')) this.next();
        if (this.isOp(close) || this.tok.type === 'eof') break;
        lits.push(this.parseLiteral());
        if (this.isOp(';')) continue;
        if (this.isOp(close)) break;
        if (!this.tok.nl) this.fail('expected a newline or ";" between expressions');
      }
      if (lits.length === 0) this.fail('empty body');
      return lits;
    });
  }

  parseQuery(): Literal[] {
    const lits: Literal[] = [];
    for (;;) {
      while (this.isOp(';')) this.next();
      if (this.tok.type === 'eof') break;
      lits.push(this.parseLiteral());
      const after: Token = this.tok;
      if (after.type !== 'eof' && !this.isOp(';') && !after.nl) this.fail('expected end of query');
    }
    if (lits.length === 0) this.fail('empty query');
    return lits;
  }

  private parseLiteral(): Literal {
    const start = this.tok;
    const loc = this.loc(start);
    if (this.isKw('some')) {
      this.next();
      const terms = this.withNl(true, () => {
        const ts = [this.parseTerm(0, true)];
        while (this.isOp(',') && this.sameLine()) {
          this.next();
          ts.push(this.parseTerm(0, true));
        }
        return ts;
      });
      if (this.isKw('in') && this.sameLine()) {
        this.next();
        const coll = this.parseTerm(1);
        if (terms.length > 2) this.fail('"some ... in" takes one or two variables', start);
        const lit: Literal = {
          k: 'somein',
          key: terms.length === 2 ? terms[0] : undefined,
          val: terms[terms.length - 1] as Term,
          coll,
          neg: false,
          with: [],
          loc,
        };
        lit.with = this.parseWith();
        return lit;
      }
      const vars: string[] = [];
      for (const t of terms) {
        if (t.t !== 'var') this.fail('expected variables after "some"', start);
        vars.push(t.name);
      }
      return { k: 'some', vars, neg: false, with: [], loc };
    }
    if (this.isKw('every')) {
      this.next();
      let key: Term | undefined;
      let val = this.parseTerm(0, true);
      if (this.isOp(',')) {
        this.next();
        key = val;
        val = this.parseTerm(0, true);
      }
      if (!this.isKw('in')) this.fail('expected "in" in every');
      this.next();
      const coll = this.parseTerm(1);
      this.expectOp('{');
      const body = this.parseBodyUntil('}');
      this.expectOp('}');
      return { k: 'every', key, val, coll, body, neg: false, with: this.parseWith(), loc };
    }
    let neg = false;
    if (this.isKw('not')) {
      this.next();
      neg = true;
    }
    const l = this.parseKeyMember(this.parseTerm());
    let lit: Literal;
    if ((this.isOp('=') || this.isOp(':=')) && this.sameLine()) {
      const op = this.next().v;
      if (
        op === ':=' &&
        l.t === 'var' &&
        (l.name === 'input' || l.name === 'data') &&
        (this.moduleV1 || this.opts.regoV1)
      ) {
        this.fail(`${l.name} cannot be shadowed`, start);
      }
      const r = this.parseKeyMember(this.parseTerm());
      lit = op === '=' ? { k: 'unify', l, r, neg, with: [], loc } : { k: 'assign', l, r, neg, with: [], loc };
    } else {
      lit = { k: 'expr', term: l, neg, with: [], loc };
    }
    lit.with = this.parseWith();
    return lit;
  }

  /** `k, v in coll` in an expression: `first` was the key. Anything else after a comma is left alone. */
  private parseKeyMember(first: Term): Term {
    if (!this.isOp(',') || !this.sameLine()) return first;
    const m = this.attempt(() => {
      this.next();
      const r = this.parseTerm();
      if (r.t !== 'member' || r.key !== undefined) this.fail('not a membership');
      return { t: 'member', key: first, val: r.val, coll: r.coll, loc: first.loc } as Term;
    });
    return m ?? first;
  }

  private parseWith(): With[] {
    const out: With[] = [];
    while (this.isKw('with') && this.sameLine()) {
      this.next();
      const target = this.parseTerm(INFIX_LEVELS.length);
      if (!this.isKw('as')) this.fail('expected "as" in with modifier');
      this.next();
      const value = this.parseTerm(1);
      out.push({ target, value });
    }
    return out;
  }

  // ---------------------------------------------------------------- terms

  /**
   * Parses a term with infix operators from precedence `level` upward. `noIn` stops before `in` (some/every),
   * `noBar` stops before `|` (comprehension heads).
   */
  parseTerm(level = 0, noIn = false, noBar = false): Term {
    if (level >= INFIX_LEVELS.length) return this.parseUnary(noBar);
    let l = this.parseTerm(level + 1, noIn, noBar);
    const ops = INFIX_LEVELS[level] as string[];
    for (;;) {
      const t = this.tok;
      if (!this.sameLine(t)) break;
      const isIn = level === 0 && t.type === 'ident' && t.v === 'in';
      if (isIn) {
        if (noIn) break;
        this.next();
        const coll = this.parseTerm(level + 1, noIn, noBar);
        l = { t: 'member', key: undefined, val: l, coll, loc: l.loc };
        continue;
      }
      if (t.type !== 'op' || !ops.includes(t.v)) break;
      if (noBar && t.v === '|') break;
      this.next();
      const r = this.parseTerm(level + 1, noIn, noBar);
      l = { t: 'bin', op: t.v, l, r, loc: { line: t.line, col: t.col } };
    }
    return l;
  }

  private parseUnary(_noBar: boolean): Term {
    if (this.isOp('-')) {
      // as in regorus (and OPA), unary minus exists only as the sign of a number literal
      const t = this.next();
      if (this.tok.type !== 'number') this.fail('unary - can only be used with numeric literals', t);
      const x = this.parsePrimary();
      return { t: 'scalar', v: -(x as { v: number }).v, loc: this.loc(t) };
    }
    return this.parsePostfix(this.parsePrimary());
  }

  private parsePostfix(head: Term): Term {
    let cur = head;
    for (;;) {
      const t = this.tok;
      if (t.nl && this.nlSig()) break;
      if (this.isOp('.')) {
        this.next();
        const n = this.next();
        if (n.type !== 'ident') this.fail('expected a field name after "."', n);
        if (n.nl) this.fail('invalid whitespace between . and identifier', n);
        cur = appendPath(cur, { t: 'scalar', v: n.v, loc: this.loc(n) });
      } else if (this.isOp('[')) {
        this.next();
        const idx = this.withNl(false, () => this.parseTerm());
        this.expectOp(']');
        cur = appendPath(cur, idx);
      } else if (this.isOp('(') && (cur.t === 'var' || cur.t === 'ref')) {
        const nm = callName(cur);
        if (nm === undefined) this.fail('invalid function name');
        this.next();
        const args = this.withNl(false, () => this.parseTermList(')'));
        this.expectOp(')');
        cur = { t: 'call', fn: cur, name: nm as string, args, loc: cur.loc };
      } else break;
    }
    return cur;
  }

  private parseTermList(close: string): Term[] {
    const out: Term[] = [];
    while (!this.isOp(close)) {
      out.push(this.parseTerm());
      if (this.isOp(',')) this.next();
      else if (!this.isOp(close)) this.fail(`expected "," or "${close}"`);
    }
    return out;
  }

  private parsePrimary(): Term {
    const t = this.tok;
    const loc = this.loc(t);
    switch (t.type) {
      case 'number': {
        this.next();
        const n = Number(t.v);
        if (!Number.isFinite(n)) this.fail('number out of range', t);
        return { t: 'scalar', v: n, loc };
      }
      case 'string':
      case 'rawstring':
        this.next();
        return { t: 'scalar', v: t.v, loc };
      case 'ident': {
        this.next();
        if (t.v === 'true' || t.v === 'false') return { t: 'scalar', v: t.v === 'true', loc };
        if (t.v === 'null') return { t: 'scalar', v: null, loc };
        if (t.v === 'set' && this.isOp('(') && this.peek().type === 'op' && this.peek().v === ')') {
          this.next();
          this.next();
          return { t: 'set', items: [], loc };
        }
        if (['not', 'some', 'every', 'else', 'with', 'as', 'default', 'package', 'import'].includes(t.v)) {
          this.fail(`unexpected keyword "${t.v}"`, t);
        }
        return { t: 'var', name: t.v, loc };
      }
      case 'op':
        break;
      default:
        this.fail('unexpected end of input');
    }
    if (t.v === '(') {
      this.next();
      const x = this.withNl(false, () => this.parseTerm());
      this.expectOp(')');
      return x;
    }
    if (t.v === '[' || t.v === '{') {
      const start = this.pos;
      let m = this.bracketMemo.get(start);
      if (!m) {
        try {
          const term = t.v === '[' ? this.parseArrayOrCompr(loc) : this.parseBraceTerm(loc);
          m = { term, end: this.pos };
        } catch (e) {
          m = { error: e };
        }
        this.bracketMemo.set(start, m);
      }
      if ('error' in m) throw m.error;
      this.pos = m.end;
      return m.term;
    }
    this.fail('unexpected token');
  }

  /** Runs `f`; on a parse error restores the position and returns undefined. */
  private attempt<T>(f: () => T): T | undefined {
    const pos = this.pos;
    try {
      return f();
    } catch (e) {
      if (!(e instanceof RegoError)) throw e;
      this.pos = pos;
      return undefined;
    }
  }

  /** Tries `f` and then each fallback; the first success wins, else the error of the preferred (second) try. */
  private firstOf<T>(tries: Array<() => T>, preferredError: number): T {
    const pos = this.pos;
    let err: unknown;
    for (let i = 0; i < tries.length; i++) {
      try {
        return (tries[i] as () => T)();
      } catch (e) {
        if (!(e instanceof RegoError)) throw e;
        if (i === preferredError || err === undefined) err = e;
        this.pos = pos;
      }
    }
    throw err;
  }

  /** `|` right after a single (primary) head: a comprehension; used first, as regorus decides. */
  private comprWithPrimaryHead(close: string, loc: Loc): Term {
    const head = this.parseUnary(true);
    if (!this.isOp('|')) this.fail('not a comprehension');
    this.next();
    const body = this.parseBodyUntil(close);
    this.expectOp(close);
    return close === ']' ? { t: 'arraycompr', head, body, loc } : { t: 'setcompr', head, body, loc };
  }

  /**
   * `[` ... `]`. Ambiguities are resolved as regorus does: `[x | y]` and `[(a - b) | y, k in c]` are
   * comprehensions, `[x | y, 5]` and `[a - b | y, 5 in c]` are arrays (with `|` as set union); a comprehension
   * whose head is a longer expression (`[x + 1 | ...]`) is the last resort.
   */
  private parseArrayOrCompr(loc: Loc): Term {
    this.next();
    return this.withNl(false, () => {
      if (this.isOp(']')) {
        this.next();
        return { t: 'array', items: [], loc } as Term;
      }
      return this.firstOf<Term>(
        [
          () => this.comprWithPrimaryHead(']', loc),
          () => {
            const items = [this.parseTerm()];
            while (this.isOp(',')) {
              this.next();
              if (this.isOp(']')) break;
              items.push(this.parseTerm());
            }
            this.expectOp(']');
            return { t: 'array', items, loc };
          },
          () => {
            const head = this.parseTerm(0, false, true);
            this.expectOp('|');
            const body = this.parseBodyUntil(']');
            this.expectOp(']');
            return { t: 'arraycompr', head, body, loc };
          },
        ],
        1,
      );
    });
  }

  /** `{` ... `}`: set comprehension, object (comprehension), set; see parseArrayOrCompr. */
  private parseBraceTerm(loc: Loc): Term {
    this.next();
    return this.withNl(false, () => {
      if (this.isOp('}')) {
        this.next();
        return { t: 'object', items: [], loc } as Term;
      }
      return this.firstOf<Term>(
        [
          () => this.comprWithPrimaryHead('}', loc),
          () => this.parseObjectOrSet(loc, true),
          () => this.parseObjectOrSet(loc, false),
        ],
        1,
      );
    });
  }

  private parseObjectOrSet(loc: Loc, noBar: boolean): Term {
    const first = this.parseTerm(0, false, noBar);
    if (this.isOp(':')) {
      this.next();
      const v = this.parseTerm(0, false, true);
      if (this.isOp('|')) {
        this.next();
        const body = this.parseBodyUntil('}');
        this.expectOp('}');
        return { t: 'objcompr', key: first, value: v, body, loc };
      }
      const items: Array<[Term, Term]> = [[first, v]];
      while (this.isOp(',')) {
        this.next();
        if (this.isOp('}')) break;
        const k = this.parseTerm();
        this.expectOp(':');
        items.push([k, this.parseTerm()]);
      }
      this.expectOp('}');
      return { t: 'object', items, loc };
    }
    if (noBar && this.isOp('|')) {
      this.next();
      const body = this.parseBodyUntil('}');
      this.expectOp('}');
      return { t: 'setcompr', head: first, body, loc };
    }
    const items = [first];
    while (this.isOp(',')) {
      this.next();
      if (this.isOp('}')) break;
      items.push(this.parseTerm());
    }
    this.expectOp('}');
    return { t: 'set', items, loc };
  }
}

function appendPath(cur: Term, el: Term): Term {
  if (cur.t === 'ref') return { t: 'ref', head: cur.head, path: [...cur.path, el], loc: cur.loc };
  return { t: 'ref', head: cur, path: [el], loc: cur.loc };
}

/** `a.b.c` → "a.b.c" when every segment is a plain name; used for builtin lookups. */
export function callName(t: Term): string | undefined {
  if (t.t === 'var') return t.name;
  if (t.t !== 'ref' || t.head.t !== 'var') return undefined;
  let s = t.head.name;
  for (const p of t.path) {
    if (p.t !== 'scalar' || typeof p.v !== 'string') return undefined;
    s += '.' + p.v;
  }
  return s;
}

const SET_OPS = new Set(['|', '&']);
const COMPARISONS = new Set(['==', '!=', '<', '<=', '>', '>=']);

/**
 * A default value must be a constant: scalars, and arrays/sets/objects of constants (comprehensions may refer to
 * anything). Reports the offending term kind with regorus's names.
 */
function checkDefaultValue(t: Term, fail: (msg: string, tok: Token) => never): void {
  const bad = (kind: string): never =>
    fail(`invalid \`${kind}\` in default value`, { type: 'op', v: '', line: t.loc.line, col: t.loc.col, nl: false });
  switch (t.t) {
    case 'scalar':
    case 'arraycompr':
    case 'setcompr':
    case 'objcompr':
      return;
    case 'array':
    case 'set':
      for (const i of t.items) checkDefaultValue(i, fail);
      return;
    case 'object':
      for (const [k, v] of t.items) {
        checkDefaultValue(k, fail);
        checkDefaultValue(v, fail);
      }
      return;
    case 'var':
      return bad('var');
    case 'call':
      return bad('call');
    case 'ref':
      return bad('ref');
    case 'neg':
      return bad('unaryexpr');
    case 'member':
      return bad('membership');
    case 'bin':
      return bad(SET_OPS.has(t.op) ? 'binexpr' : COMPARISONS.has(t.op) ? 'boolexpr' : 'arithexpr');
  }
}

/** Collects every variable name that occurs in a term (used for function parameters). */
export function collectVars(t: Term, out: Set<string>): void {
  switch (t.t) {
    case 'var':
      out.add(t.name);
      break;
    case 'array':
    case 'set':
      for (const i of t.items) collectVars(i, out);
      break;
    case 'object':
      for (const [, v] of t.items) collectVars(v, out);
      break;
    case 'ref':
      collectVars(t.head, out);
      break;
  }
}

function collectDeclaredTerm(t: Term, out: Set<string>): void {
  switch (t.t) {
    case 'arraycompr':
    case 'setcompr':
    case 'objcompr':
      collectDeclared(t.body, out);
      break;
    case 'array':
    case 'set':
      for (const i of t.items) collectDeclaredTerm(i, out);
      break;
    case 'object':
      for (const [k, v] of t.items) {
        collectDeclaredTerm(k, out);
        collectDeclaredTerm(v, out);
      }
      break;
    case 'call':
      for (const a of t.args) collectDeclaredTerm(a, out);
      break;
    case 'bin':
      collectDeclaredTerm(t.l, out);
      collectDeclaredTerm(t.r, out);
      break;
  }
}

/** Names declared by `some`, `:=`, `some ... in` and `every` in a body (recursively). */
export function collectDeclared(body: Literal[], out: Set<string>): void {
  for (const l of body) {
    switch (l.k) {
      case 'some':
        for (const v of l.vars) out.add(v);
        break;
      case 'somein':
        if (l.key) collectVars(l.key, out);
        collectVars(l.val, out);
        collectDeclaredTerm(l.coll, out);
        break;
      case 'every':
        if (l.key) collectVars(l.key, out);
        collectVars(l.val, out);
        collectDeclared(l.body, out);
        break;
      case 'assign':
        collectVars(l.l, out);
        collectDeclaredTerm(l.r, out);
        break;
      case 'unify':
        collectDeclaredTerm(l.l, out);
        collectDeclaredTerm(l.r, out);
        break;
      case 'expr':
        collectDeclaredTerm(l.term, out);
        break;
    }
  }
}

/** Turns a stack overflow of the recursive-descent parser into a RegoError naming the file. */
function guardDepth<T>(file: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof RangeError && /call stack/i.test(e.message))
      throw new RegoError(`${file}: expressions are nested too deeply to parse`, 'rego_parse_error');
    throw e;
  }
}

export function parseModule(file: string, src: string, opts: ParseOptions = {}): Module {
  return guardDepth(file, () => new Parser(tokenize(src, file), file, opts).parseModule());
}

export function parseQuery(src: string, file = '<query>'): Literal[] {
  return guardDepth(file, () => new Parser(tokenize(src, file), file, {}).parseQuery());
}

export type { Value };
