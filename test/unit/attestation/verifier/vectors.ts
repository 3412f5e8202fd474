/** Test helper: paths to the shared public test vectors (never copied into the repo). */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
export const vectorsDir = path.resolve(repoRoot, '../shared/vectors');

export function vector(rel: string): Buffer {
  return readFileSync(path.join(vectorsDir, rel));
}

export function vectorText(rel: string): string {
  return readFileSync(path.join(vectorsDir, rel), 'utf8');
}

export const HOPPER_NONCE = Buffer.from('931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb', 'hex');
/** The tdx_quote_4 collateral is valid in July 2023 (the TCB signing leaf expired 2025-05-21). */
export const TDX_COLLATERAL_NOW = new Date('2023-07-01T00:00:00Z');
