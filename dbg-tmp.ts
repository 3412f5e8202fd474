import { readFileSync, readdirSync } from 'node:fs';
import { AgentPolicy, parseRequestLog } from './policy/index.js';
const root = '/work/shared/vectors/policy/regorus-kata';
for (const sc of readdirSync(root)) {
  const base = AgentPolicy.fromRego(readFileSync(`${root}/${sc}/policy.rego`, 'utf8'));
  const reqs = parseRequestLog(readFileSync(`${root}/${sc}/inputs.txt`, 'utf8'));
  const per = new Map<number, number[]>();
  for (let i = 0; i < 25; i++) { const p = base.clone(); reqs.forEach((r, j) => { const t = performance.now(); p.evaluateSync(r.name, r.input); const dt = performance.now() - t; if (r.name === 'CreateContainerRequest' && i > 2) { if (!per.has(j)) per.set(j, []); per.get(j)!.push(dt); } }); }
  console.log(sc, [...per].map(([j, ts]) => { ts.sort((a, b) => a - b); return `#${j}: p50 ${ts[ts.length >> 1]!.toFixed(2)} max ${ts[ts.length - 1]!.toFixed(2)}`; }).join(' | '));
}
