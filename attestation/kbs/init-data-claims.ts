/**
 * `init-data` handling at the KBS: parse the TOML body the client sent, compute its digest, and build the
 * `init_data_claims` the policies see (aa.toml / cdh.toml turned into JSON, policy.rego summarized).
 */
import { createHash } from 'node:crypto';
import { parse as parseToml } from 'smol-toml';
import { parseInitdataToml, type Initdata } from '../initdata/index.js';

export function parseAttestationInitData(x: unknown): Initdata | undefined {
  if (x === undefined || x === null) return undefined;
  if (typeof x !== 'object' || Array.isArray(x)) throw new Error('init-data must be an object {"format","body"}');
  const o = x as Record<string, unknown>;
  if (o.format !== 'toml') throw new Error(`init-data.format must be "toml", got ${JSON.stringify(o.format ?? null)}`);
  if (typeof o.body !== 'string') throw new Error('init-data.body must be the initdata TOML text');
  return parseInitdataToml(o.body);
}

export function initDataClaims(initdata: Initdata): Record<string, unknown> {
  const claims: Record<string, unknown> = {};
  for (const [name, text] of Object.entries(initdata.data)) {
    if (name.endsWith('.toml')) {
      try {
        claims[name] = parseToml(text);
      } catch {
        claims[name] = { unparsed: true };
      }
    } else if (name === 'policy.rego') {
      claims.agent_policy_claims = { sha256: createHash('sha256').update(text).digest('hex') };
    } else {
      claims[name] = text;
    }
  }
  return claims;
}
