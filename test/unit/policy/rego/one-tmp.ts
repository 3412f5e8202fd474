import { loadCases, runCase } from './conformance-runner.js';
const [file, note] = process.argv.slice(2) as [string, string];
for (const c of loadCases(file)) if (c.note === note) console.log(runCase(file, c).reason);
