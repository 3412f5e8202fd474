/**
 * FWIDs in the GPU attestation certificate's TCG DICE extension (2.23.133.5.4.1). NVIDIA's certificates carry the
 * FWID as an `FWID ::= SEQUENCE { hashAlg OID, digest OCTET STRING }` nested in the extension (the standard
 * TcbInfo puts a list of them under [6]); every such pair found anywhere in the extension is returned.
 */
import type { X509Certificate } from 'node:crypto';
import { children, content, parseDer, TAG, type Tlv } from '../der.js';
import { certExtensions } from '../x509-extensions.js';

export const DICE_TCB_INFO_OID = '2.23.133.5.4.1';

function collect(t: Tlv, out: Buffer[]): void {
  if ((t.tag & 0x20) === 0) return;
  const kids = children(t);
  if (t.tag === TAG.SEQUENCE && kids.length === 2 && kids[0]!.tag === TAG.OID && kids[1]!.tag === TAG.OCTET_STRING) {
    out.push(Buffer.from(content(kids[1]!)));
    return;
  }
  for (const k of kids) collect(k, out);
}

/** The FWID digests in the certificate, or undefined when the extension is absent. Throws when it is malformed. */
export function certFwids(cert: X509Certificate): Buffer[] | undefined {
  const ext = certExtensions(cert).get(DICE_TCB_INFO_OID);
  if (!ext) return undefined;
  const out: Buffer[] = [];
  collect(parseDer(ext.value), out);
  return out;
}
