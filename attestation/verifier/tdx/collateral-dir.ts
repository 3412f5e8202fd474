/**
 * Load TDX collateral from a directory (for the CLI and offline use). Files are recognised by name,
 * case-insensitively: one containing "tcbinfo" (the PCS tcb response body), one containing "qeidentity" or
 * "enclaveidentity" (the QE identity body), and the PEM file holding "Intel SGX TCB Signing" (the issuer chain).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TdxCollateral } from './verify-tdx.js';

export function loadTdxCollateralDir(dir: string): TdxCollateral {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (e) {
    throw new Error(`collateral directory ${dir}: ${(e as Error).message}`);
  }
  const find = (re: RegExp, what: string): string => {
    const hits = names.filter((n) => re.test(n.toLowerCase()));
    if (hits.length !== 1) {
      throw new Error(
        `collateral directory ${dir}: expected exactly one ${what} file (name matching ${re}), found ${hits.length ? hits.join(', ') : 'none'}`,
      );
    }
    return join(dir, hits[0]!);
  };
  const tcbInfo = readFileSync(find(/tcb_?info/, 'TCB info'), 'utf8');
  const qeIdentity = readFileSync(find(/(qe_?identity|enclave_?identity)/, 'QE identity'), 'utf8');
  const pems = names.filter((n) => n.toLowerCase().endsWith('.pem')).map((n) => join(dir, n));
  const chain = pems.find((p) => {
    const text = readFileSync(p, 'latin1');
    return text.includes('-----BEGIN CERTIFICATE-----') && /TCB Signing/.test(certSubjects(text));
  });
  if (!chain) throw new Error(`collateral directory ${dir}: no .pem file holds the Intel SGX TCB Signing certificate`);
  return { tcbInfo, qeIdentity, issuerChain: readFileSync(chain, 'utf8') };
}

function certSubjects(pemText: string): string {
  // Cheap test without parsing every file: the DER of the subject CN appears in the base64 only after decoding.
  const blocks = pemText.match(/-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => Buffer.from(b.replace(/-----[^-]+-----|\s/g, ''), 'base64').toString('latin1')).join('\n');
}
