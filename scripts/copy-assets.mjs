#!/usr/bin/env node
// Copies non-TypeScript assets next to the compiled code in dist/: protobuf definitions, Rego rules.
import fs from 'node:fs';
const assets = [
  ['src/protocols/proto', 'dist/src/protocols/proto'],
  ['policy/rules', 'dist/policy/rules'],
];
for (const [from, to] of assets) {
  if (!fs.existsSync(from)) continue;
  fs.rmSync(to, { recursive: true, force: true });
  fs.cpSync(from, to, { recursive: true, filter: (p) => !p.endsWith('.ts') });
}
