/* eslint-disable @typescript-eslint/no-explicit-any -- decoded tokens and JWEs are inspected as plain JSON */
/** KBS logs: the flow is logged (warnings for the sample TEE) but never a resource value, token, cookie or key. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import { SampleAttester } from '../../../../attestation/agent/index.js';
import {
  defaultRegoEngineFactory,
  KbsClient,
  KbsServer,
  redactingLogger,
  RegoKbsPolicy,
  SAMPLE_ALLOWING_RESOURCE_POLICY,
} from '../../../../attestation/kbs/index.js';

function capture(): { logger: Logger; text: () => string } {
  let out = '';
  const w = new Writable({
    write(c: Buffer, _e, cb) {
      out += c.toString();
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, w) as unknown as Logger, text: () => out };
}

describe('KBS log redaction', () => {
  it('server and client log the flow without secrets; fields named like secrets are censored', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kbs-log-'));
    const s = capture();
    const c = capture();
    const server = new KbsServer({
      resourceDir: dir,
      policy: new RegoKbsPolicy(defaultRegoEngineFactory, { resourcePolicy: SAMPLE_ALLOWING_RESOURCE_POLICY }),
      admin: { mode: 'deny-all' },
      logger: s.logger,
    });
    const url = await server.listen(0);
    try {
      await server.store.set(['default', 'key', 'x'], Buffer.from('VERY-SECRET-VALUE'));
      const client = new KbsClient({ url, attester: new SampleAttester(), logger: c.logger });
      expect((await client.getResource('default/key/x')).toString()).toBe('VERY-SECRET-VALUE');
      const token = await client.getToken();
      const all = s.text() + c.text();
      expect(s.text()).toMatch(/RCAR attest: sample TEE attested \(INSECURE\)/);
      expect(s.text()).toMatch(/resource released to the sample TEE/);
      expect(c.text()).toMatch(/RCAR handshake done/);
      expect(all).not.toContain('VERY-SECRET-VALUE');
      expect(all).not.toContain(token.split('.')[2]!);
      expect(all).not.toMatch(/kbs-session-id=[0-9a-f]{32}/);
      const r = capture();
      redactingLogger(r.logger).info(
        { token, cookie: 'kbs-session-id=abc', nested: { value: 'v', plaintext: 'p' }, path: 'default/key/x' },
        'm',
      );
      const rec = JSON.parse(r.text()) as Record<string, any>;
      expect(rec).toMatchObject({
        token: '[REDACTED]',
        cookie: '[REDACTED]',
        nested: { value: '[REDACTED]', plaintext: '[REDACTED]' },
        path: 'default/key/x',
      });
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
