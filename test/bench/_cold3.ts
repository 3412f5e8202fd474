import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { Session } from 'node:inspector';
import { AgentPolicy, parseRequestLog } from '../../policy/agent/index.js';
const root = '/work/shared/vectors/policy/regorus-kata';
function load(sc: string) { return { base: AgentPolicy.fromRego(readFileSync(path.join(root, sc, 'policy.rego'), 'utf8')), requests: parseRequestLog(readFileSync(path.join(root, sc, 'inputs.txt'), 'utf8')) }; }
const A = load('web');
for (let i = 0; i < 10; i++) { const p = A.base.clone(); for (const r of A.requests) p.evaluateSync(r.name, r.input); }
const B = load('pod-exec');
const s = new Session(); s.connect();
const post = (m: string, a?: object) => new Promise<any>((res, rej) => s.post(m, a ?? {}, (e, v) => e ? rej(e) : res(v)));
await post('Profiler.enable'); await post('Profiler.setSamplingInterval', { interval: 50 }); await post('Profiler.start');
const text = readFileSync(path.join(root, 'pod-exec', 'policy.rego'), 'utf8');
let tl = 0, te = 0;
for (let i = 0; i < 30; i++) {
  let t = performance.now();
  const base = AgentPolicy.fromRego(text);
  tl += performance.now() - t; t = performance.now();
  const p = base.clone();
  for (const r of B.requests) p.evaluateSync(r.name, r.input);
  te += performance.now() - t;
}
console.log('load avg', (tl / 30).toFixed(1), 'first-pass avg', (te / 30).toFixed(1));
const { profile } = await post('Profiler.stop');
mkdirSync('/tmp/cpu3', { recursive: true });
writeFileSync('/tmp/cpu3/x.cpuprofile', JSON.stringify(profile));
