/**
 * AMD Key Distribution Service URLs: the VCEK for a chip and TCB, and the ASK+ARK chain of a generation. The
 * verifier never fetches by itself; callers pass a `fetchVcek` hook (e.g. `fetchFromKds` below, with caching).
 */
import type { SnpGeneration, SnpTcb } from '../../evidence/snp-report.js';

export const KDS_BASE = 'https://kdsintf.amd.com';

const two = (n: number): string => String(n).padStart(2, '0');

/**
 * `https://kdsintf.amd.com/vcek/v1/{gen}/{hwid}?blSPL=NN&teeSPL=NN&snpSPL=NN&ucodeSPL=NN`; the TCB is the report's
 * reported_tcb. Turin uses only the first 8 bytes of chip_id and adds fmcSPL.
 */
export function kdsVcekUrl(generation: SnpGeneration, chipId: Uint8Array, tcb: SnpTcb, base = KDS_BASE): string {
  const id = Buffer.from(generation === 'Turin' ? chipId.subarray(0, 8) : chipId).toString('hex');
  const q = [
    `blSPL=${two(tcb.bootloader)}`,
    `teeSPL=${two(tcb.tee)}`,
    `snpSPL=${two(tcb.snp)}`,
    `ucodeSPL=${two(tcb.microcode)}`,
  ];
  if (generation === 'Turin') q.unshift(`fmcSPL=${two(tcb.fmc ?? 0)}`);
  return `${base}/vcek/v1/${generation}/${id}?${q.join('&')}`;
}

/** `https://kdsintf.amd.com/vcek/v1/{gen}/cert_chain`: the ASK and ARK as PEM. */
export function kdsCertChainUrl(generation: SnpGeneration, base = KDS_BASE): string {
  return `${base}/vcek/v1/${generation}/cert_chain`;
}

/** A `fetchVcek` hook using the global fetch. KDS rate-limits (HTTP 429): callers should cache the result. */
export async function fetchFromKds(url: string): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok)
    throw new Error(
      `KDS ${url} answered HTTP ${res.status}${res.status === 429 ? ' (rate limited; cache VCEKs)' : ''}`,
    );
  return new Uint8Array(await res.arrayBuffer());
}
