/**
 * Intel SGX PCK certificate extension (OID 1.2.840.113741.1.13.1): the platform TCB (16 SGX component SVNs, PCESVN,
 * CPUSVN), PCE-ID, FMSPC, SGX type and (for Platform-CA PCKs) the platform instance ID.
 */
import type { X509Certificate } from 'node:crypto';
import { children, content, decodeOid, decodeUint, DerError, parseDer, TAG, type Tlv } from '../der.js';
import { certExtensions } from '../x509-extensions.js';

export const SGX_EXTENSIONS_OID = '1.2.840.113741.1.13.1';

export interface PckExtensions {
  ppid?: Buffer;
  /** SGX TCB component SVNs 1..16 (index 0 = component 1). */
  sgxTcbComponents: number[];
  pceSvn: number;
  cpuSvn?: Buffer;
  pceId: Buffer;
  fmspc: Buffer;
  sgxType?: number;
  platformInstanceId?: Buffer;
}

function entries(t: Tlv): Map<string, Tlv> {
  const out = new Map<string, Tlv>();
  for (const seq of children(t)) {
    const [oid, val] = children(seq);
    if (!oid || !val) throw new DerError('SGX extension entry without OID and value');
    out.set(decodeOid(oid), val);
  }
  return out;
}

function octets(t: Tlv | undefined, what: string): Buffer {
  if (!t || t.tag !== TAG.OCTET_STRING) throw new DerError(`SGX extension ${what} is missing or not an OCTET STRING`);
  return Buffer.from(content(t));
}

/** Read the SGX extensions of a PCK certificate; throws naming the missing or malformed part. */
export function readPckExtensions(pck: X509Certificate): PckExtensions {
  const ext = certExtensions(pck).get(SGX_EXTENSIONS_OID);
  if (!ext) throw new Error(`the PCK certificate has no SGX extension (${SGX_EXTENSIONS_OID})`);
  const top = entries(parseDer(ext.value));
  const base = SGX_EXTENSIONS_OID;
  const tcbT = top.get(`${base}.2`);
  if (!tcbT || tcbT.tag !== TAG.SEQUENCE) throw new DerError('SGX extension TCB (.2) is missing');
  const tcb = entries(tcbT);
  const comps: number[] = [];
  for (let i = 1; i <= 16; i++) {
    const c = tcb.get(`${base}.2.${i}`);
    if (!c) throw new DerError(`SGX extension TCB component ${i} is missing`);
    comps.push(decodeUint(c));
  }
  const pce = tcb.get(`${base}.2.17`);
  if (!pce) throw new DerError('SGX extension PCESVN (.2.17) is missing');
  const out: PckExtensions = {
    sgxTcbComponents: comps,
    pceSvn: decodeUint(pce),
    pceId: octets(top.get(`${base}.3`), 'PCE-ID (.3)'),
    fmspc: octets(top.get(`${base}.4`), 'FMSPC (.4)'),
  };
  if (out.fmspc.length !== 6) throw new DerError(`SGX extension FMSPC is ${out.fmspc.length} bytes, expected 6`);
  const cpu = tcb.get(`${base}.2.18`);
  if (cpu) out.cpuSvn = octets(cpu, 'CPUSVN (.2.18)');
  const ppid = top.get(`${base}.1`);
  if (ppid) out.ppid = octets(ppid, 'PPID (.1)');
  const type = top.get(`${base}.5`);
  if (type && type.tag === 0x0a) out.sgxType = content(type)[0];
  const pi = top.get(`${base}.6`);
  if (pi) out.platformInstanceId = octets(pi, 'platform instance ID (.6)');
  return out;
}
