/**
 * The guest's initdata check: the hardware must carry the initdata digest (SNP host_data fitted to 32 bytes,
 * TDX mr_config_id fitted to 48); the attestation agent refuses to continue on a mismatch.
 */
import { resizeDigest } from '../initdata/index.js';
import { AttesterError } from './attester.js';

export interface InitdataBindingSource {
  readonly tee: string;
  hostData?(): Promise<Buffer>;
  mrConfigId?(): Promise<Buffer>;
}

export async function checkInitdataBinding(source: InitdataBindingSource, digest: Buffer): Promise<void> {
  let actual: Buffer;
  if (source.tee === 'snp' && source.hostData) actual = await source.hostData();
  else if (source.tee === 'tdx' && source.mrConfigId) actual = await source.mrConfigId();
  else throw new AttesterError(`${source.tee}: cannot check the initdata binding on this TEE`, source.tee);
  const want = resizeDigest(digest, actual.length);
  if (!actual.equals(want)) {
    const field = source.tee === 'snp' ? 'host_data' : 'mr_config_id';
    throw new AttesterError(
      `${source.tee}: initdata digest mismatch: ${field} is ${actual.toString('hex')}, expected ${want.toString('hex')}`,
      source.tee,
    );
  }
}
