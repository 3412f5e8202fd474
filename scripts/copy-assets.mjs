#!/usr/bin/env node
// Copies non-TypeScript assets next to the compiled code in dist/: protobuf definitions, Rego rules. Only the
// asset files themselves are replaced: tsc writes compiled modules into the same folders.
import fs from 'node:fs';
import path from 'node:path';
const assets = [
  ['src/protocols/proto', 'dist/src/protocols/proto'],
  ['policy/rules', 'dist/policy/rules'],
];
function copy(from, to) {
  fs.mkdirSync(to, { recursive: true });
  for (const e of fs.readdirSync(from, { withFileTypes: true })) {
    const s = path.join(from, e.name);
    const d = path.join(to, e.name);
    if (e.isDirectory()) copy(s, d);
    else if (!e.name.endsWith('.ts')) fs.copyFileSync(s, d);
  }
}
for (const [from, to] of assets) if (fs.existsSync(from)) copy(from, to);
