/**
 * The SEV-SNP certificate table (configfs-tsm auxblob / extended report): entries `{guid[16], offset u32, length
 * u32}` ended by an all-zero entry, offsets relative to the table start; GUID bytes in text order.
 */
import { AttesterError } from './attester.js';

const GUIDS: Record<string, string> = {
  '63da758d-e664-4564-adc5-f4b93be8accd': 'VCEK',
  'a8074bc2-a25a-483e-aae6-39c045a0b8a1': 'VLEK',
  '4ab7b379-bbac-4fe4-a02f-05aef327c782': 'ASK',
  'c0b406a4-a803-4952-9743-3fb6014cd0ae': 'ARK',
  '92f81bc3-5811-4d3d-97ff-d19f88dc67ea': 'CRL',
};

export interface SnpCertEntry {
  cert_type: string;
  data: number[];
}

function guidText(b: Buffer): string {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function guidBytes(text: string): Buffer {
  return Buffer.from(text.replace(/-/g, ''), 'hex');
}

export const SNP_CERT_GUIDS: Readonly<Record<string, string>> = GUIDS;

/** Parse a certificate table into Trustee's `cert_chain` form (cert type name, DER bytes as numbers). */
export function parseSnpCertTable(table: Buffer): SnpCertEntry[] {
  const out: SnpCertEntry[] = [];
  for (let off = 0; ; off += 24) {
    if (off + 24 > table.length) throw new AttesterError('snp: certificate table has no terminating zero entry', 'snp');
    const guid = table.subarray(off, off + 16);
    const o = table.readUInt32LE(off + 16);
    const len = table.readUInt32LE(off + 20);
    if (guid.every((b) => b === 0) && o === 0 && len === 0) break;
    if (o + len > table.length || o < off + 24) {
      throw new AttesterError(
        `snp: certificate table entry ${out.length} (offset ${o}, length ${len}) is out of bounds`,
        'snp',
      );
    }
    const g = guidText(guid);
    out.push({ cert_type: GUIDS[g] ?? g, data: [...table.subarray(o, o + len)] });
  }
  return out;
}
