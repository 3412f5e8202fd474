/** Client for the KBS admin API (Ed25519-signed bearer JWT), what `ccgpu kbs set-*` uses. */
import type { KeyObject } from 'node:crypto';
import { Agent, request, type Dispatcher } from 'undici';
import { signAdminToken } from './admin-auth.js';
import { KbsError, type KbsErrorVariant } from './errors.js';
import { KBS_API_PREFIX, KBS_ERROR_TYPE_PREFIX } from './protocol.js';
import { validateResourcePath } from './resource-store.js';

export class KbsAdminClient {
  private readonly base: string;
  private readonly dispatcher?: Dispatcher;
  constructor(
    url: string,
    private readonly adminKey: string | KeyObject | undefined,
    opts: { certPem?: string } = {},
  ) {
    this.base = new URL(url).origin;
    if (opts.certPem) this.dispatcher = new Agent({ connect: { ca: opts.certPem } });
  }

  private async call(method: 'POST' | 'DELETE', p: string, body: Buffer | string, contentType: string): Promise<void> {
    const headers: Record<string, string> = { 'content-type': contentType };
    if (this.adminKey) headers.authorization = `Bearer ${await signAdminToken(this.adminKey)}`;
    const r = await request(this.base + KBS_API_PREFIX + p, {
      method,
      headers,
      body,
      ...(this.dispatcher ? { dispatcher: this.dispatcher } : {}),
    });
    const text = await r.body.text();
    if (r.statusCode === 200) return;
    let variant: KbsErrorVariant = 'PluginInternalError';
    let detail = `HTTP ${r.statusCode}`;
    try {
      const j = JSON.parse(text) as { type?: string; detail?: string };
      if (j.type?.startsWith(KBS_ERROR_TYPE_PREFIX))
        variant = j.type.slice(KBS_ERROR_TYPE_PREFIX.length) as KbsErrorVariant;
      if (j.detail) detail = j.detail;
    } catch {
      /* keep the HTTP status */
    }
    throw new KbsError(variant, `${method} ${p}: ${detail}`, { status: r.statusCode });
  }

  async setResource(resourcePath: string, value: Buffer): Promise<void> {
    const parts = validateResourcePath(resourcePath.replace(/^\/+/, '').split('/'));
    await this.call('POST', `/resource/${parts.join('/')}`, value, 'application/octet-stream');
  }
  async deleteResource(resourcePath: string): Promise<void> {
    const parts = validateResourcePath(resourcePath.replace(/^\/+/, '').split('/'));
    await this.call('DELETE', `/resource/${parts.join('/')}`, '', 'application/octet-stream');
  }
  async setResourcePolicy(rego: string): Promise<void> {
    await this.call(
      'POST',
      '/resource-policy',
      JSON.stringify({ policy: Buffer.from(rego).toString('base64url') }),
      'application/json',
    );
  }
  async setAttestationPolicy(rego: string, policyId = 'default_cpu'): Promise<void> {
    const body = { type: 'rego', policy_id: policyId, policy: Buffer.from(rego).toString('base64url') };
    await this.call('POST', '/attestation-policy', JSON.stringify(body), 'application/json');
  }
  async setReferenceValues(rv: Record<string, unknown>): Promise<void> {
    await this.call('POST', '/reference-value', JSON.stringify(rv), 'application/json');
  }
  async close(): Promise<void> {
    if (this.dispatcher) await this.dispatcher.close();
  }
}
