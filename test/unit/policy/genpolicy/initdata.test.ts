/** initdata TOML + gzip + base64 encoding, base initdata merge, legacy annotation; decode errors. */
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parse as parseToml } from 'smol-toml';
import {
  decodeInitdataAnnotation,
  encodeInitdataAnnotation,
  initdataToml,
  parseInitdataToml,
} from '../../../../policy/genpolicy/index.js';

const POLICY = 'package agent_policy\n\ndefault X := "a\'b"\n\npolicy_data := {\n  "k": "\\\\d+"\n}\n';

describe('initdata', () => {
  it('writes version 0.1.0, sha256 and the policy as a literal multi-line string', () => {
    const toml = initdataToml(POLICY);
    expect(toml.startsWith('version = "0.1.0"\nalgorithm = "sha256"\n\n[data]\n"policy.rego" = \'\'\'\n')).toBe(true);
    const doc = parseToml(toml) as { version: string; algorithm: string; data: Record<string, string> };
    expect(doc).toEqual({ version: '0.1.0', algorithm: 'sha256', data: { 'policy.rego': POLICY } });
  });

  it('falls back to an escaped string when the text cannot be a literal string', () => {
    const tricky = "x := \"'''\"\n\u0001\n";
    expect((parseToml(initdataToml(tricky)) as { data: Record<string, string> }).data['policy.rego']).toBe(tricky);
  });

  it('round-trips through gzip + base64 and keeps other entries of a base initdata', () => {
    const base = parseInitdataToml(
      'version = "0.1.0"\nalgorithm = "sha384"\n[data]\n"aa.toml" = "x = 1"\n"policy.rego" = "old"\n',
    );
    const value = encodeInitdataAnnotation(initdataToml(POLICY, base));
    expect(gunzipSync(Buffer.from(value, 'base64')).subarray(0, 7).toString()).toBe('version');
    const doc = decodeInitdataAnnotation(value);
    expect(doc.algorithm).toBe('sha384');
    expect(doc.data).toEqual({ 'aa.toml': 'x = 1', 'policy.rego': POLICY });
  });

  it('rejects a bad version/algorithm and undecodable annotations', () => {
    expect(() => parseInitdataToml('version = "0.2.0"\nalgorithm = "sha256"\n')).toThrow(/version must be "0.1.0"/);
    expect(() => parseInitdataToml('version = "0.1.0"\nalgorithm = "md5"\n')).toThrow(/algorithm must be one of/);
    expect(() => decodeInitdataAnnotation(Buffer.from('plain').toString('base64'))).toThrow(/not base64 of gzip/);
  });
});

describe('generateFromFiles', () => {
  it('rewrites -y in place, merges a base initdata file, and keeps the file untouched on failure', async () => {
    const { mkdtempSync, readFileSync, rmSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const { generateFromFiles, StaticImageSource } = await import('../../../../policy/genpolicy/index.js');
    const { RULES_PATH } = await import('../../../../policy/rules/index.js');
    const { settingsWithDropIns } = await import('./helpers.js');
    const dir = mkdtempSync(path.join(tmpdir(), 'ccgpu-gff-'));
    const yamlFile = path.join(dir, 'pod.yaml');
    const initdataFile = path.join(dir, 'base.toml');
    const pod =
      'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: c\n      image: registry.example/app:1\n';
    writeFileSync(yamlFile, pod);
    writeFileSync(
      initdataFile,
      'version = "0.1.0"\nalgorithm = "sha512"\n\n[data]\n"aa.toml" = \'\'\'\n[token_configs]\n\'\'\'\n',
    );
    const images = new StaticImageSource({
      'registry.example/app:1': {
        manifestDigest: 'sha256:' + '2'.repeat(64),
        config: { Cmd: ['/app'] },
        passwd: 'root:x:0:0::/:/bin/sh\n',
        group: 'root:x:0:\n',
      },
    });
    const common = {
      yamlFile,
      rulesFile: RULES_PATH,
      settingsPath: settingsWithDropIns(['10-non-coco-drop-in.json']),
      images,
    };
    const r = await generateFromFiles({ ...common, initdataFile });
    const text = readFileSync(yamlFile, 'utf8');
    expect(text).toBe(r.yaml);
    expect(text).toContain('io.katacontainers.config.hypervisor.cc_init_data: ');
    const doc = decodeInitdataAnnotation(r.policies[0]!.annotationValue);
    expect(doc.algorithm).toBe('sha512');
    expect(doc.data['aa.toml']).toBe('[token_configs]\n');
    expect(doc.data['policy.rego']).toBe(r.policies[0]!.policy);

    writeFileSync(yamlFile, pod.replace('registry.example/app:1', 'registry.example/missing:1'));
    await expect(generateFromFiles(common)).rejects.toThrow(/no metadata for image registry\.example\/missing:1/);
    expect(readFileSync(yamlFile, 'utf8')).toBe(pod.replace('registry.example/app:1', 'registry.example/missing:1'));
    rmSync(dir, { recursive: true, force: true });
  });
});
