import { readFileSync } from 'node:fs';
import path from 'node:path';
import { AgentPolicy, parseRequestLog } from '../../policy/agent/index.js';
const root = '/work/shared/vectors/policy/regorus-kata';
function load(sc: string) { return { base: AgentPolicy.fromRego(readFileSync(path.join(root, sc, 'policy.rego'), 'utf8')), requests: parseRequestLog(readFileSync(path.join(root, sc, 'inputs.txt'), 'utf8')) }; }
const A = load(process.env.A ?? 'web');
const t0 = performance.now();
for (let i = 0; i < Number(process.env.W ?? 10); i++) { const p = A.base.clone(); for (const r of A.requests) p.evaluateSync(r.name, r.input); }
console.log('warm-up ms', (performance.now() - t0).toFixed(0));
const B = load(process.env.B ?? 'pod-exec');
if (process.env.GC) { const { setFlagsFromString } = await import('node:v8'); const { runInNewContext } = await import('node:vm'); setFlagsFromString('--expose-gc'); const gc = runInNewContext('gc') as (o?: object) => void; const t1 = performance.now(); if (process.env.GC === 'minor') { gc({ type: 'minor' }); gc({ type: 'minor' }); } else gc(); console.log('gc ms', (performance.now() - t1).toFixed(1)); }
for (let pass = 0; pass < 3; pass++) {
  const p = B.base.clone(); const out: string[] = [];
  for (const r of B.requests) { const t = performance.now(); p.evaluateSync(r.name, r.input); const dt = performance.now() - t; if (r.name === 'CreateContainerRequest') out.push(dt.toFixed(2)); }
  console.log('B pass', pass, 'CC', out.join(' '));
}
