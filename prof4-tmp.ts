import { readFileSync } from 'node:fs';
import { EvalContext } from './policy/rego/evaluator.js';
const incl = new Map<string, { n: number; t: number }>();
let depth = 0;
for (const m of ['callUser', 'evalGroup'] as const) {
  const orig = (EvalContext.prototype as any)[m];
  (EvalContext.prototype as any)[m] = function (g: any, ...rest: unknown[]) {
    const lvl = depth;
    const t = performance.now(); depth++;
    try { return orig.call(this, g, ...rest); } finally { depth--; if (lvl <= Number(process.env.LVL ?? 1)) { const k = `${lvl} ${m}:${g.name}`; const s = incl.get(k) ?? { n: 0, t: 0 }; s.n++; s.t += performance.now() - t; incl.set(k, s); } }
  };
}
const { AgentPolicy, parseRequestLog } = await import('./policy/index.js');
const dir = `/work/shared/vectors/policy/regorus-kata/k8s-policy-pod`;
const base = AgentPolicy.fromRego(readFileSync(`${dir}/policy.rego`, 'utf8'));
const reqs = parseRequestLog(readFileSync(`${dir}/inputs.txt`, 'utf8'));
const R = 20;
let tt = 0;
for (let i = 0; i < R; i++) { const p = base.clone(); reqs.forEach((r, j) => { if (i === 3 && j === 0) incl.clear(); const t = performance.now(); p.evaluateSync(r.name, r.input); if (j === 11 && i >= 3) tt += performance.now() - t; }); }
const n = R - 3;
console.log('ms per CC#11', (tt / n).toFixed(3));
for (const [k, s] of [...incl].filter(([k]) => !k.includes('evalGroup:CreateContainerRequest') || true).sort((a, b) => b[1].t - a[1].t).slice(0, 25)) console.log(k.padEnd(45), 'n', (s.n / n).toFixed(1), 'ms', (s.t / n).toFixed(3));
