import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasOpenssl, makeTestPki, type TestPki } from '../../../exporters/otlp/certs.testing.js';
import { waitFor } from '../../../test/helpers/collector.js';
import { ConfigError } from '../config/load.js';
import { createServer } from './fastify.js';
import { listenOn } from './listen.js';

const logger = pino({ level: 'silent' });

/** The fingerprint of the certificate the server presents. */
function servedFingerprint(address: string): Promise<string> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port: Number(port), rejectUnauthorized: false }, () => {
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      socket.end();
      resolve(fingerprint);
    });
    socket.on('error', reject);
  });
}

describe.skipIf(!hasOpenssl())('TLS on a port', () => {
  let first: TestPki;
  let second: TestPki;
  beforeAll(() => {
    first = makeTestPki();
    second = makeTestPki();
  });
  afterAll(() => {
    first?.remove();
    second?.remove();
  });

  it('refuses to start with a certificate file it cannot read, naming the setting', () => {
    let error: unknown;
    try {
      createServer(logger, 'api', {}, { keyPrefix: 'api', tls: { cert_file: '/nonexistent/server.crt', key_file: first.serverKeyFile, client_ca_file: '' } });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe('api.tls.cert_file: cannot read /nonexistent/server.crt: ENOENT');
  });

  it('refuses a key that does not match the certificate', () => {
    expect(() =>
      createServer(logger, 'api', {}, { keyPrefix: 'api', tls: { cert_file: first.serverCertFile, key_file: second.serverKeyFile, client_ca_file: '' } }),
    ).toThrow(/api\.tls\.cert_file: not usable/);
  });

  it('serves a rotated certificate to new connections without a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ft-tls-rotate-'));
    const cert = join(dir, 'server.crt');
    const key = join(dir, 'server.key');
    copyFileSync(first.serverCertFile, cert);
    copyFileSync(first.serverKeyFile, key);
    const app = createServer(logger, 'api', {}, { keyPrefix: 'api', tls: { cert_file: cert, key_file: key, client_ca_file: '' } });
    app.get('/healthz', async () => ({ status: 'ok' }));
    try {
      const address = await listenOn(app, '127.0.0.1:0');
      const before = await servedFingerprint(address);
      copyFileSync(second.serverCertFile, cert);
      copyFileSync(second.serverKeyFile, key);
      const after = await waitFor(async () => {
        const now = await servedFingerprint(address);
        return now !== before ? now : undefined;
      }, 'the rotated certificate', 15_000);
      expect(after).not.toBe(before);
    } finally {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
