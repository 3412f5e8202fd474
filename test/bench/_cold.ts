import { readFileSync } from 'node:fs';
import path from 'node:path';
import { AgentPolicy, parseRequestLog } from '../../policy/agent/index.js';
const root = '/work/shared/vectors/policy/regorus-kata';
const sc = process.env.SC ?? 'pod-exec';
const requests = parseRequestLog(readFileSync(path.join(root, sc, 'inputs.txt'), 'utf8'));
let t = performance.now();
const base = AgentPolicy.fromRego(readFileSync(path.join(root, sc, 'policy.rego'), 'utf8'));
console.log('load', (performance.now() - t).toFixed(1));
for (let pass = 0; pass < 4; pass++) {
  const p = base.clone();
  const out: string[] = [];
  let tot = 0;
  for (const r of requests) { t = performance.now(); p.evaluateSync(r.name, r.input); const dt = performance.now() - t; tot += dt; if (r.name === 'CreateContainerRequest') out.push(dt.toFixed(2)); }
  console.log('pass', pass, 'total', tot.toFixed(1), 'CC', out.join(' '));
}
