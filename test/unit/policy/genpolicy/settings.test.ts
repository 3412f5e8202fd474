/** Settings loading, RFC 6902 drop-ins (name order, failing test op), validation errors naming the file. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyJsonPatch, loadSettings } from '../../../../policy/genpolicy/index.js';
import { settingsDir, settingsWithDropIns } from './helpers.js';

describe('RFC 6902 JSON Patch', () => {
  const doc = { a: { b: [1, 2, 3], 'c/d': 'x', 'e~f': 1 }, n: null };
  it('applies add/remove/replace/move/copy/test without touching the input', () => {
    const out = applyJsonPatch(doc, [
      { op: 'add', path: '/a/b/1', value: 9 },
      { op: 'add', path: '/a/b/-', value: 4 },
      { op: 'remove', path: '/a/b/0' },
      { op: 'replace', path: '/a/c~1d', value: 'y' },
      { op: 'copy', from: '/a/b', path: '/copy' },
      { op: 'move', from: '/a/e~0f', path: '/moved' },
      { op: 'test', path: '/n', value: null },
      { op: 'test', path: '/copy', value: [9, 2, 3, 4] },
    ]);
    expect(out).toEqual({ a: { b: [9, 2, 3, 4], 'c/d': 'y' }, n: null, copy: [9, 2, 3, 4], moved: 1 });
    expect(doc.a.b).toEqual([1, 2, 3]);
  });
  it('fails on a failed test, a missing path, a bad index or an unknown op', () => {
    expect(() => applyJsonPatch(doc, [{ op: 'test', path: '/a/c~1d', value: 'z' }])).toThrow(/test failed/);
    expect(() => applyJsonPatch(doc, [{ op: 'remove', path: '/nope' }])).toThrow(/does not exist/);
    expect(() => applyJsonPatch(doc, [{ op: 'add', path: '/a/b/7', value: 1 }])).toThrow(/out of range/);
    expect(() => applyJsonPatch(doc, [{ op: 'replace', path: '/a/x', value: 1 }])).toThrow(/does not exist/);
    expect(() => applyJsonPatch(doc, [{ op: 'frob', path: '/a' } as never])).toThrow(/unknown op/);
    expect(() => applyJsonPatch(doc, [{ op: 'move', from: '/a', path: '/a/b/0' }])).toThrow(/into itself/);
  });
});

describe('settings', () => {
  it('loads the shipped settings (file and directory forms) with the CoCo defaults', () => {
    const asDir = loadSettings(settingsDir).settings;
    const asFile = loadSettings(path.join(settingsDir, 'genpolicy-settings.json')).settings;
    expect(asDir).toEqual(asFile);
    expect(asDir.cluster_config.guest_pull).toBe(true);
    expect(asDir.cluster_config.emptydir_type).toBe('block-encrypted');
    expect(asDir.kata_config.oci_version).toBe('1.1.0');
  });

  it('applies drop-ins in file-name order', () => {
    const dir = settingsWithDropIns(['20-oci-1.3.0-drop-in.json', '10-non-coco-drop-in.json'], {
      '30-a.json': [{ op: 'replace', path: '/kata_config/oci_version', value: '1.2.0' }],
      '40-b.json': [
        { op: 'test', path: '/kata_config/oci_version', value: '1.2.0' },
        { op: 'replace', path: '/kata_config/oci_version', value: '1.2.1' },
      ],
    });
    const { settings, files } = loadSettings(dir);
    expect(files.map((f) => path.basename(f))).toEqual([
      'genpolicy-settings.json',
      '10-non-coco-drop-in.json',
      '20-oci-1.3.0-drop-in.json',
      '30-a.json',
      '40-b.json',
    ]);
    expect(settings.kata_config.oci_version).toBe('1.2.1');
    expect(settings.cluster_config.guest_pull).toBe(false);
    expect(settings.sandbox.storages).toHaveLength(2);
  });

  it('aborts on a failing test op, naming the drop-in', () => {
    const dir = settingsWithDropIns([], {
      '50-guard.json': [{ op: 'test', path: '/cluster_config/guest_pull', value: false }],
    });
    expect(() => loadSettings(dir)).toThrow(
      /drop-in .*50-guard\.json operation 0 \("test" "\/cluster_config\/guest_pull"\): test failed/,
    );
  });

  it('rejects a drop-in that is not a patch array and a result that breaks the schema', () => {
    expect(() => loadSettings(settingsWithDropIns([], { '1.json': { op: 'add' } as never }))).toThrow(
      /must be a JSON Patch array/,
    );
    expect(() =>
      loadSettings(
        settingsWithDropIns([], { '1.json': [{ op: 'replace', path: '/kata_config/oci_version', value: 'v2' }] }),
      ),
    ).toThrow(/"kata_config\.oci_version" must be an OCI version/);
    expect(() =>
      loadSettings(settingsWithDropIns([], { '1.json': [{ op: 'remove', path: '/common/default_caps' }] })),
    ).toThrow(/common\.default_caps/);
  });

  it('reports a missing path and invalid JSON with the file name', () => {
    expect(() => loadSettings('/nonexistent/settings.json')).toThrow(/does not exist/);
    const dir = mkdtempSync(path.join(tmpdir(), 'ccgpu-s-'));
    const f = path.join(dir, 'bad.json');
    writeFileSync(f, '{ nope');
    expect(() => loadSettings(f)).toThrow(/bad\.json is not valid JSON/);
    rmSync(dir, { recursive: true, force: true });
  });
});
