/**
 * Demo step (d): the embedded KBS started in-process (RCAR 0.4.0, sample TEE allowed for the demo), the guest flow
 * (initdata → KBS URL, auth → attest → EAR token → resource as JWE, decrypted with the TEE key), a sealed secret
 * unsealed through the Confidential Data Hub, and the same request refused by a KBS that does not trust the sample TEE.
 */
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { SampleAttester } from '../../attestation/agent/index.js';
import { ConfidentialDataHub, guestKbsConfigFromInitdata } from '../../attestation/cdh/index.js';
import { parseInitdataToml } from '../../attestation/initdata/index.js';
import {
  buildKbsServerOptions,
  KBS_CONFIG_DEFAULTS,
  KbsAdminClient,
  KbsClient,
  KbsError,
  KbsServer,
  type KbsConfig,
} from '../../attestation/kbs/index.js';
import { buildVaultPayload, generateSealingKeyPair, sealSecret } from '../../attestation/sealed/index.js';
import type { DemoOutput, DemoStep, StepOutcome } from './types.js';

const RESOURCE = 'default/key/model-weights-key';

const fingerprint = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex').slice(0, 16)}…`;

function initdataFor(url: string): string {
  return `version = "0.1.0"
algorithm = "sha384"

[data]
"cdh.toml" = '''
socket = "unix:///run/confidential-containers/cdh.sock"
[kbc]
name = "cc_kbc"
url = "${url}"
'''
`;
}

async function startKbs(
  dir: string,
  adminPub: string,
  insecureAllowSample: boolean,
): Promise<{ server: KbsServer; url: string }> {
  const cfg: KbsConfig = {
    ...KBS_CONFIG_DEFAULTS,
    file: '(ccgpu demo)',
    resourceDir: path.join(dir, 'resources'),
    admin: { mode: 'ed25519', publicKey: adminPub },
    insecureAllowSample,
  };
  const server = new KbsServer(buildKbsServerOptions(cfg));
  const url = await server.listen(0, '127.0.0.1');
  return { server, url };
}

/** The guest side: the KBS URL comes from initdata (cdh.toml), evidence from the (sample) attester bound to its digest. */
function guestClient(url: string): { client: KbsClient; cdh: ConfidentialDataHub; initdataDigest: string } {
  const toml = initdataFor(url);
  const initdata = parseInitdataToml(toml);
  const cfg = guestKbsConfigFromInitdata(initdata);
  const client = new KbsClient({
    url: cfg.url,
    attester: new SampleAttester({ initdataDigest: initdata.digest }),
    initdataToml: toml,
    retry: { attempts: 2, baseDelayMs: 10 },
  });
  return { client, cdh: new ConfidentialDataHub({ kbs: client }), initdataDigest: initdata.digest.toString('hex') };
}

async function guestFlow(out: DemoOutput, url: string, secret: Buffer, adminKey: string): Promise<string[]> {
  const problems: string[] = [];
  const { client, cdh, initdataDigest } = guestClient(url);
  try {
    out.say(`guest: initdata cdh.toml names the KBS ${url}; initdata digest (sha384) ${initdataDigest.slice(0, 16)}…`);
    const value = await client.getResource(RESOURCE);
    const same = value.equals(secret);
    out.say(`guest: auth → attest (sample evidence bound to the TEE key and initdata) → token → ${RESOURCE}`);
    out.say(
      `       received ${value.length} bytes ${fingerprint(value)} ${same ? '= the value the owner stored' : '≠ THE STORED VALUE'}`,
    );
    if (!same) problems.push('the resource differs from the stored value');
    const token = await client.getToken();
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as {
      submods?: Record<string, Record<string, unknown>>;
    };
    const ae = claims.submods?.cpu0?.['ear.veraison.annotated-evidence'] as { init_data?: string } | undefined;
    const status = claims.submods?.cpu0?.['ear.status'];
    out.say(
      `       EAR token: cpu0 status ${String(status)}, init_data claim ${ae?.init_data === initdataDigest ? 'matches' : 'DOES NOT MATCH'} the initdata digest`,
    );
    if (ae?.init_data !== initdataDigest) problems.push('the token does not carry the initdata digest');

    // a sealed secret in a container's env, unsealed by the CDH with the key from the KBS
    const { privateJwk, publicJwk } = generateSealingKeyPair('demo');
    const admin = new KbsAdminClient(url, adminKey);
    try {
      await admin.setResource('default/signing-key/demo', Buffer.from(JSON.stringify(publicJwk)));
    } finally {
      await admin.close();
    }
    const sealed = await sealSecret(buildVaultPayload(`kbs:///${RESOURCE}`), {
      kid: 'kbs:///default/signing-key/demo',
      privateJwk,
    });
    const unsealed = await cdh.unsealSecret(sealed);
    out.say(`guest: CDH unsealed a signed sealed secret (${sealed.slice(0, 24)}…) → ${fingerprint(unsealed)}`);
    if (!unsealed.equals(secret)) problems.push('the sealed secret did not unseal to the stored value');
  } finally {
    await client.close();
  }
  return problems;
}

export const attestationStep: DemoStep = {
  id: 'attestation',
  title: 'Attestation: in-process KBS + guest client (sample TEE) → resource, sealed secret; refusal without trust',
  async run({ out, workDir }): Promise<StepOutcome> {
    const adminKeys = generateKeyPairSync('ed25519');
    const adminPub = path.join(workDir, 'admin.pub');
    fs.writeFileSync(adminPub, adminKeys.publicKey.export({ format: 'pem', type: 'spki' }));
    const adminKey = adminKeys.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const secret = randomBytes(32);

    const open = await startKbs(path.join(workDir, 'open'), adminPub, true);
    const strict = await startKbs(path.join(workDir, 'strict'), adminPub, false);
    try {
      out.say(
        `KBS (RCAR 0.4.0) listening on ${open.url}, policy ${open.server.policy.kind}; the software-only sample TEE is`,
      );
      out.say('allowed here because this machine has no SEV-SNP/TDX (INSECURE, demo only).');
      for (const k of [open, strict]) {
        const admin = new KbsAdminClient(k.url, adminKey);
        try {
          await admin.setResource(RESOURCE, secret);
        } finally {
          await admin.close();
        }
      }
      out.say(
        `owner: stored ${RESOURCE} (${secret.length} random bytes, ${fingerprint(secret)}) through the signed admin API`,
      );
      const problems = await guestFlow(out, open.url, secret, adminKey);

      out.say(`a second KBS (${strict.url}) with the default policy, which does not trust the sample TEE:`);
      const { client } = guestClient(strict.url);
      let refused: string;
      try {
        const err = await client.getResource(RESOURCE).then(
          () => undefined,
          (e: unknown) => e,
        );
        if (err instanceof KbsError) refused = `${err.variant}: ${err.message}`;
        else {
          refused = '';
          problems.push(
            err ? `unexpected error: ${String(err)}` : 'the strict KBS released the resource to the sample TEE',
          );
        }
      } finally {
        await client.close();
      }
      if (refused) out.say(`guest: refused as expected (${refused})`);
      if (problems.length > 0) return { status: 'fail', summary: problems.join('; ') };
      return {
        status: 'pass',
        summary: 'resource and sealed secret delivered after attestation; untrusted TEE refused',
      };
    } finally {
      await Promise.all([open.server.close(), strict.server.close()]);
    }
  },
};
