/**
 * The Rego engine the KBS uses by default: ccgpu's own (`policy/rego`). Each policy text is parsed and compiled
 * once; every evaluation runs on a cheap clone so data and input never leak between requests. Builtin errors abort
 * the evaluation (strict mode), which the KBS turns into a refusal: policy failures fail closed.
 */
import { Engine } from '../../policy/index.js';
import type { RegoEngineFactory, RegoEngineLike } from './policy.js';

const MAX_CACHED_POLICIES = 64;
const compiled = new Map<string, Engine>();

function compiledEngine(file: string, src: string): Engine {
  const key = `${file}\u0000${src}`;
  let e = compiled.get(key);
  if (!e) {
    e = new Engine({ strictBuiltinErrors: true, failClosedRegex: true, maxEvalMs: 2000 });
    e.addPolicy(file, src); // throws on a syntax error: reported to the admin / caller
    if (compiled.size >= MAX_CACHED_POLICIES) compiled.delete(compiled.keys().next().value!);
    compiled.set(key, e);
  }
  return e;
}

class CachedRegoEngine implements RegoEngineLike {
  private engine?: Engine;
  addPolicy(path: string, src: string): void {
    if (this.engine) throw new Error('the KBS evaluates one policy module at a time');
    this.engine = compiledEngine(path, src).clone();
  }
  private get e(): Engine {
    if (!this.engine) throw new Error('no policy loaded');
    return this.engine;
  }
  addData(data: unknown): void {
    if (!data || typeof data !== 'object' || Array.isArray(data)) throw new Error('policy data must be a JSON object');
    this.e.addData(data as Record<string, unknown>);
  }
  setInput(input: unknown): void {
    this.e.setInput(input);
  }
  evalRule(rule: string): unknown {
    return this.e.evalRule(rule);
  }
}

export const defaultRegoEngineFactory: RegoEngineFactory = () => new CachedRegoEngine();
