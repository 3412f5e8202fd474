import { readFileSync } from 'node:fs';
import path from 'node:path';
import { AgentPolicy, parseRequestLog } from '../../policy/agent/index.js';
const root = '/work/shared/vectors/policy/regorus-kata';
const B = { base: AgentPolicy.fromRego(readFileSync(path.join(root, 'pod-exec', 'policy.rego'), 'utf8')), requests: parseRequestLog(readFileSync(path.join(root, 'pod-exec', 'inputs.txt'), 'utf8')) };
const cache = (B.base as any).engine.regexCache as Map<string, unknown>;
const before = new Set(cache.keys());
console.log('precompiled', before.size);
const p = B.base.clone();
for (const r of B.requests) { const n0 = cache.size; const t = performance.now(); p.evaluateSync(r.name, r.input); if (cache.size > n0) console.log(r.name, 'new patterns', cache.size - n0, (performance.now() - t).toFixed(2), 'ms'); }
const added = [...cache.keys()].filter((k) => !before.has(k));
for (const k of added.slice(0, 15)) console.log(JSON.stringify(k).slice(0, 150));
console.log('total new', added.length);
