/**
 * Intel PCS (or a PCCS with the same API) collateral URLs and a fetcher usable as `fetchCollateral`. The bodies are
 * kept as text: the signatures cover the exact inner JSON text. The issuer chain comes URL-encoded in a header.
 */
import type { TdxCollateral } from './verify-tdx.js';

export const PCS_BASE = 'https://api.trustedservices.intel.com';

export function pcsTcbInfoUrl(fmspc: string, base = PCS_BASE): string {
  if (!/^[0-9a-fA-F]{12}$/.test(fmspc)) throw new Error(`FMSPC must be 12 hex digits, got "${fmspc}"`);
  return `${base}/tdx/certification/v4/tcb?fmspc=${fmspc.toLowerCase()}`;
}

export function pcsQeIdentityUrl(base = PCS_BASE): string {
  return `${base}/tdx/certification/v4/qe/identity`;
}

async function get(url: string): Promise<Response> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url} answered HTTP ${res.status}`);
  return res;
}

/** Fetch tcbInfo and QE identity for an FMSPC. Callers should cache the result until its nextUpdate. */
export async function fetchTdxCollateralFromPcs(fmspc: string, base = PCS_BASE): Promise<TdxCollateral> {
  const tcbRes = await get(pcsTcbInfoUrl(fmspc, base));
  const qeRes = await get(pcsQeIdentityUrl(base));
  const chainHeader =
    tcbRes.headers.get('TCB-Info-Issuer-Chain') ?? qeRes.headers.get('SGX-Enclave-Identity-Issuer-Chain');
  if (!chainHeader) throw new Error('the PCS response carries no TCB-Info-Issuer-Chain header');
  return { tcbInfo: await tcbRes.text(), qeIdentity: await qeRes.text(), issuerChain: decodeURIComponent(chainHeader) };
}
