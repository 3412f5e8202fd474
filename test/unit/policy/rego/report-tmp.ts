import { runAll } from './conformance-runner.js';
let pass = 0;
for (const o of runAll()) { if (o.status === 'pass') pass++; if (o.status === 'fail') console.log(`${o.file} | ${o.note} :: ${o.reason?.slice(0, 200)}`); }
console.log('PASS', pass);
