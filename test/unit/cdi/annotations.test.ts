import { describe, expect, it } from 'vitest';
import {
  annotationKey,
  annotationValue,
  namesFromPodResources,
  parseAnnotations,
  updateAnnotations,
  withoutCdiAnnotations,
} from '../../../cdi/index.js';

describe('CDI annotations (check 18, annotations_test.go)', () => {
  it('builds keys', () => {
    expect(annotationKey('vendor.class', 'd-e/v/i/c-e')).toBe('cdi.k8s.io/vendor.class_d-e_v_i_c-e');
    expect(annotationKey('vendor.class', 'device')).toBe('cdi.k8s.io/vendor.class_device');
  });

  it('rejects bad keys with the upstream messages', () => {
    expect(() => annotationKey('_vendor.class', 'device')).toThrow(
      `invalid name "_vendor.class_device", first '_' should be alphanumeric`,
    );
    expect(() => annotationKey('vendor.class', 'device_')).toThrow(
      `invalid name "vendor.class_device_", last '_' should be alphanumeric`,
    );
    expect(() => annotationKey('ven*dor', 'device')).toThrow(`invalid name "ven*dor_device", invalid character '*'`);
    expect(() => annotationKey('', 'device')).toThrow('invalid plugin name, empty');
    expect(() => annotationKey('vendor', '')).toThrow('invalid deviceID, empty');
    const plugin = 'v'.repeat(32);
    const dev = 'd'.repeat(30); // 32 + 1 + 30 = 63: the limit
    expect(annotationKey(plugin, dev)).toBe(`cdi.k8s.io/${plugin}_${dev}`);
    expect(() => annotationKey(plugin, dev + 'x')).toThrow(`invalid plugin+deviceID "${plugin}_${dev}x", too long`);
  });

  it('parses annotations; an unqualified name is an error', () => {
    expect(() => parseAnnotations({ 'cdi.k8s.io/x': 'foobar' })).toThrow('invalid CDI device name "foobar"');
    const r = parseAnnotations({
      'cdi.k8s.io/b': 'nvidia.com/pgpu=1,nvidia.com/nvswitch=8',
      'cdi.k8s.io/a': 'nvidia.com/pgpu=0',
      'io.katacontainers.x': 'not/cdi=1',
    });
    expect(r).toEqual({
      keys: ['cdi.k8s.io/a', 'cdi.k8s.io/b'],
      devices: ['nvidia.com/pgpu=0', 'nvidia.com/pgpu=1', 'nvidia.com/nvswitch=8'],
    });
  });

  it('updates annotations and strips them', () => {
    const a = updateAnnotations({ keep: 'x' }, 'nvidia.com', 'gpu0', ['nvidia.com/pgpu=0']);
    expect(a).toEqual({ keep: 'x', 'cdi.k8s.io/nvidia.com_gpu0': 'nvidia.com/pgpu=0' });
    expect(() => updateAnnotations(a, 'nvidia.com', 'gpu0', ['nvidia.com/pgpu=1'])).toThrow(
      'CDI annotation failed, key "cdi.k8s.io/nvidia.com_gpu0" used',
    );
    expect(() => updateAnnotations({}, 'nvidia.com', 'gpu1', ['pgpu=1'])).toThrow(
      'CDI annotation failed: unqualified device "pgpu=1", missing vendor',
    );
    expect(withoutCdiAnnotations(a)).toEqual({ keep: 'x' });
    expect(annotationValue(['a.com/b=c', 'a.com/b=d'])).toBe('a.com/b=c,a.com/b=d');
  });

  it('forms <resource>=<id> names from PodResources results', () => {
    expect(
      namesFromPodResources([
        { resourceName: 'nvidia.com/pgpu', deviceIds: ['3', '1'] },
        { resourceName: 'nvidia.com/nvswitch', deviceIds: ['8'] },
        { resourceName: 'nvidia.com/pgpu', deviceIds: ['1'] },
      ]),
    ).toEqual(['nvidia.com/pgpu=3', 'nvidia.com/pgpu=1', 'nvidia.com/nvswitch=8']);
  });
});
