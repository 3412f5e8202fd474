import { runAll } from './conformance-runner.js';
import { KNOWN_FAILURES } from './conformance-known-failures.js';
let pass = 0;
for (const o of runAll()) {
  if (o.status === 'pass') pass++;
  if (o.status === 'fail') console.log(`${KNOWN_FAILURES.has(`${o.file} | ${o.note}`) ? '' : 'NEW '}${o.file} | ${o.note} :: ${o.reason?.slice(0, 300)}`);
}
console.log('PASS', pass);
