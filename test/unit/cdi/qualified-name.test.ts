import { describe, expect, it } from 'vitest';
import { isQualifiedName, parseDevice, parseQualifiedName } from '../../../cdi/index.js';

describe('CDI qualified names (check 12, parser_test.go cases)', () => {
  it('parses nvidia.com/pgpu=65', () => {
    const r = parseQualifiedName('nvidia.com/pgpu=65');
    expect(r).toEqual({ ok: true, value: { vendor: 'nvidia.com', class: 'pgpu', name: '65' } });
  });

  it.each([
    'a/b=c',
    'vendor1.com/class.subclass=dev1',
    'yet_another-vendor2.com/c-lass_2=dev_1:2.3',
    'nvidia.com/pgpu=65',
  ])('%s is qualified', (n) => expect(isQualifiedName(n)).toBe(true));

  it.each([
    [
      '_invalid.com/class=dev',
      'invalid device "_invalid.com/class=dev": invalid vendor. "_invalid.com", should start with letter',
    ],
    [
      'invalid2.com-/class=dev',
      'invalid device "invalid2.com-/class=dev": invalid vendor. "invalid2.com-", should end with a letter or digit',
    ],
    [
      'invalid3.com/_class=dev',
      'invalid device "invalid3.com/_class=dev": invalid class. "_class", should start with letter',
    ],
    [
      'invalid4.com/class_=dev',
      'invalid device "invalid4.com/class_=dev": invalid class. "class_", should end with a letter or digit',
    ],
    [
      'invalid5.com/class=-dev',
      'invalid device "invalid5.com/class=-dev": invalid class "-dev", should start with a letter or digit',
    ],
    [
      'invalid6.com/class=dev:',
      'invalid device "invalid6.com/class=dev:": invalid name "dev:", should end with a letter or digit',
    ],
    ['*.com/*dev=*gpu*', 'invalid device "*.com/*dev=*gpu*": invalid vendor. "*.com", should start with letter'],
  ])('%s splits into parts but is not qualified', (n, msg) => {
    const parts = parseDevice(n);
    expect(parts.vendor).not.toBe('');
    expect(parts.class).not.toBe('');
    expect(parts.name).not.toBe('');
    const r = parseQualifiedName(n);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toBe(msg);
  });

  it('middle characters are checked', () => {
    const r = parseQualifiedName('vendor.com/cl*ss=dev');
    expect(!r.ok && r.error).toBe(
      `invalid device "vendor.com/cl*ss=dev": invalid class. invalid character '*' in name "cl*ss"`,
    );
    const d = parseQualifiedName('vendor.com/class=de/v');
    expect(!d.ok && d.error).toBe(
      `invalid device "vendor.com/class=de/v": invalid character '/' in device name "de/v"`,
    );
  });

  it.each([
    ['/dev/vfio/65', 'unqualified device "/dev/vfio/65", missing vendor'],
    ['pgpu=65', 'unqualified device "pgpu=65", missing vendor'],
    ['nvidia.com/pgpu', 'unqualified device "nvidia.com/pgpu", missing vendor'],
    ['nvidia.com/pgpu=', 'unqualified device "nvidia.com/pgpu=", missing vendor'],
    ['', 'unqualified device "", missing vendor'],
  ])('%s is unqualified', (n, msg) => {
    expect(parseDevice(n)).toEqual({ vendor: '', class: '', name: n });
    const r = parseQualifiedName(n);
    expect(!r.ok && r.error).toBe(msg);
  });
});
