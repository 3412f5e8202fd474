/**
 * Unsealing: verify the signature, then resolve the payload through its provider.
 *
 * - vault: `provider.getSecret(name)`; the `kbs` provider fetches the KBS resource named by `name`.
 * - envelope: `provider.decryptKey(encrypted_key, key_id)` gives the DEK, which decrypts `encrypted_data`. The built-in
 *   `kbs` provider (a ccgpu extension; upstream's KBS provider is vault-only) fetches the 32-byte KEK at `key_id` from
 *   the KBS and unwraps `encrypted_key` with RFC 3394 AES-256 key wrap.
 */
import {
  aesKeyUnwrap,
  decryptEnvelopeData,
  SealedSecretError,
  verifySealedSecret,
  type VerifyOptions,
} from './sealed-secret.js';

export interface SecretProvider {
  getSecret?(name: string, annotations: Record<string, unknown>, settings: Record<string, unknown>): Promise<Buffer>;
  decryptKey?(
    encryptedKey: Buffer,
    keyId: string,
    annotations: Record<string, unknown>,
    settings: Record<string, unknown>,
  ): Promise<Buffer>;
}

export interface UnsealOptions extends VerifyOptions {
  providers: Record<string, SecretProvider>;
}

/** A `kbs` provider over anything that can fetch KBS resources by URI. */
export function kbsSecretProvider(getResource: (uri: string) => Promise<Buffer>): SecretProvider {
  return {
    getSecret: (name) => getResource(name),
    decryptKey: async (encryptedKey, keyId) => aesKeyUnwrap(await getResource(keyId), encryptedKey),
  };
}

export async function unsealSecret(value: string, opts: UnsealOptions): Promise<Buffer> {
  const { payload } = await verifySealedSecret(value, opts);
  const provider = opts.providers[payload.provider];
  if (!provider) throw new SealedSecretError(`sealed secret: provider "${payload.provider}" is not available`);
  try {
    if (payload.type === 'vault') {
      if (!provider.getSecret)
        throw new SealedSecretError(`sealed secret: provider "${payload.provider}" cannot resolve vault secrets`);
      return await provider.getSecret(payload.name, payload.annotations, payload.provider_settings);
    }
    if (!provider.decryptKey)
      throw new SealedSecretError(`sealed secret: provider "${payload.provider}" cannot decrypt envelope keys`);
    const dek = await provider.decryptKey(
      Buffer.from(payload.encrypted_key, 'base64'),
      payload.key_id,
      payload.annotations,
      payload.provider_settings,
    );
    try {
      return decryptEnvelopeData(dek, payload);
    } finally {
      dek.fill(0);
    }
  } catch (e) {
    if (e instanceof SealedSecretError) throw e;
    throw new SealedSecretError(`sealed secret: provider "${payload.provider}" failed: ${(e as Error).message}`, {
      cause: e,
    });
  }
}
