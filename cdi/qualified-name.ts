/**
 * Qualified CDI device names `<vendor>/<class>=<name>` (rules and error texts of cncf-tags pkg/parser).
 */

export interface QualifiedName {
  vendor: string;
  class: string;
  name: string;
}

export function isLetter(c: string): boolean {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

export function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}

export function isAlphaNumeric(c: string): boolean {
  return isLetter(c) || isDigit(c);
}

/** `vendor/class=name`. */
export function qualifiedName(vendor: string, cls: string, name: string): string {
  return `${vendor}/${cls}=${name}`;
}

/** Splits a kind at the first `/`; without both parts the vendor is empty and the whole input is the class. */
export function parseQualifier(kind: string): { vendor: string; class: string } {
  const i = kind.indexOf('/');
  if (i <= 0 || i === kind.length - 1) return { vendor: '', class: kind };
  return { vendor: kind.slice(0, i), class: kind.slice(i + 1) };
}

/**
 * Splits a device reference without validating the parts. Paths (leading `/`) and strings lacking `=` or `/`
 * are unqualified: vendor and class come back empty and the input is the name.
 */
export function parseDevice(device: string): QualifiedName {
  const unqualified = { vendor: '', class: '', name: device };
  if (device === '' || device.startsWith('/')) return unqualified;
  const eq = device.indexOf('=');
  if (eq <= 0 || eq === device.length - 1) return unqualified;
  const { vendor, class: cls } = parseQualifier(device.slice(0, eq));
  if (vendor === '') return unqualified;
  return { vendor, class: cls, name: device.slice(eq + 1) };
}

function validateVendorOrClassName(name: string): string | undefined {
  if (name === '') return 'empty name';
  if (!isLetter(name[0]!)) return `${JSON.stringify(name)}, should start with letter`;
  if (name.length === 1) return undefined;
  for (const c of name.slice(1, -1)) {
    if (!(isAlphaNumeric(c) || c === '_' || c === '-' || c === '.')) {
      return `invalid character '${c}' in name ${JSON.stringify(name)}`;
    }
  }
  if (!isAlphaNumeric(name[name.length - 1]!)) return `${JSON.stringify(name)}, should end with a letter or digit`;
  return undefined;
}

/** Returns an error message, or undefined when the vendor is valid. */
export function validateVendorName(vendor: string): string | undefined {
  const err = validateVendorOrClassName(vendor);
  return err === undefined ? undefined : `invalid vendor. ${err}`;
}

/** Returns an error message, or undefined when the class is valid. */
export function validateClassName(cls: string): string | undefined {
  const err = validateVendorOrClassName(cls);
  return err === undefined ? undefined : `invalid class. ${err}`;
}

/** Returns an error message, or undefined when the device name is valid. */
export function validateDeviceName(name: string): string | undefined {
  if (name === '') return 'invalid (empty) device name';
  // "class" is a quirk of the upstream message, kept so errors match.
  if (!isAlphaNumeric(name[0]!)) return `invalid class ${JSON.stringify(name)}, should start with a letter or digit`;
  if (name.length === 1) return undefined;
  for (const c of name.slice(1, -1)) {
    if (!(isAlphaNumeric(c) || c === '_' || c === '-' || c === '.' || c === ':')) {
      return `invalid character '${c}' in device name ${JSON.stringify(name)}`;
    }
  }
  if (!isAlphaNumeric(name[name.length - 1]!)) {
    return `invalid name ${JSON.stringify(name)}, should end with a letter or digit`;
  }
  return undefined;
}

export type ParseResult = { ok: true; value: QualifiedName } | { ok: false; error: string; value: QualifiedName };

/** Parses and validates a fully qualified device name. */
export function parseQualifiedName(device: string): ParseResult {
  const parts = parseDevice(device);
  const q = JSON.stringify(device);
  const fail = (error: string): ParseResult => ({ ok: false, error, value: parts });
  if (parts.vendor === '') return fail(`unqualified device ${q}, missing vendor`);
  if (parts.class === '') return fail(`unqualified device ${q}, missing class`);
  if (parts.name === '') return fail(`unqualified device ${q}, missing device name`);
  const err = validateVendorName(parts.vendor) ?? validateClassName(parts.class) ?? validateDeviceName(parts.name);
  if (err !== undefined) return fail(`invalid device ${q}: ${err}`);
  return { ok: true, value: parts };
}

export function isQualifiedName(device: string): boolean {
  return parseQualifiedName(device).ok;
}
