import { readFileSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import { createSecureContext, type SecureContextOptions, type Server as TlsServer } from 'node:tls';
import type { Logger } from 'pino';
import { ConfigError } from '../config/load.js';
import type { TlsConfig } from './config.js';

/** How often certificate files are checked for a change (stat polling works on every filesystem, Kubernetes secret volumes included). */
const WATCH_INTERVAL_MS = 1000;

/** What a TLS server is created with: the PEM material, and mTLS when a client CA is set. */
export interface TlsServerOptions extends SecureContextOptions {
  requestCert: boolean;
  rejectUnauthorized: boolean;
}

/**
 * One port's certificate files. Read and checked at construction, so a missing or unusable
 * file stops the collector at start naming the setting (`keyPrefix.tls.cert_file`); watched
 * afterwards, so a rotated certificate is served to new connections without a restart.
 */
export class TlsFiles {
  private readonly material: SecureContextOptions;
  private readonly watched: Array<{ file: string; listener: (current: Stats, previous: Stats) => void }> = [];

  constructor(
    private readonly tls: TlsConfig,
    private readonly keyPrefix: string,
  ) {
    const material = this.read((key, problem) => new ConfigError(key, problem));
    check(`${keyPrefix}.tls.cert_file`, () => createSecureContext(material), (key, problem) => new ConfigError(key, problem));
    this.material = material;
  }

  static enabled(tls: TlsConfig | undefined): tls is TlsConfig {
    return tls !== undefined && tls.cert_file !== '';
  }

  /** Options for `https.createServer` / `http2.createSecureServer`. */
  serverOptions(): TlsServerOptions {
    const mtls = this.tls.client_ca_file !== '';
    return { ...this.material, requestCert: mtls, rejectUnauthorized: mtls };
  }

  /**
   * Re-reads the files whenever one changes and installs them on `server`. A half-written
   * rotation (new certificate, old key) fails the check and keeps the previous context until
   * the other file follows.
   */
  watch(server: TlsServer, logger: Logger): void {
    const reload = (current: Stats, previous: Stats) => {
      if (current.mtimeMs === previous.mtimeMs && current.size === previous.size) return;
      try {
        const material = this.read((key, problem) => new Error(`${key}: ${problem}`));
        check(`${this.keyPrefix}.tls.cert_file`, () => createSecureContext(material), (key, problem) => new Error(`${key}: ${problem}`));
        server.setSecureContext(material);
        logger.info({ port: this.keyPrefix }, 'TLS certificate reloaded');
      } catch (err) {
        logger.warn({ port: this.keyPrefix, reason: (err as Error).message }, 'TLS certificate files changed but are not usable yet; still serving the previous certificate');
      }
    };
    for (const file of this.files()) {
      watchFile(file, { interval: WATCH_INTERVAL_MS, persistent: false }, reload);
      this.watched.push({ file, listener: reload });
    }
  }

  close(): void {
    // Only this port's listeners: another port may watch the same files.
    for (const { file, listener } of this.watched.splice(0)) unwatchFile(file, listener);
  }

  private files(): string[] {
    return [this.tls.cert_file, this.tls.key_file, this.tls.client_ca_file].filter((f) => f !== '');
  }

  private read(fail: (key: string, problem: string) => Error): SecureContextOptions {
    const read = (field: 'cert_file' | 'key_file' | 'client_ca_file'): Buffer | undefined => {
      const file = this.tls[field];
      if (file === '') return undefined;
      try {
        return readFileSync(file);
      } catch (err) {
        throw fail(`${this.keyPrefix}.tls.${field}`, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      }
    };
    return { cert: read('cert_file'), key: read('key_file'), ca: read('client_ca_file') };
  }
}

function check(key: string, fn: () => unknown, fail: (key: string, problem: string) => Error): void {
  try {
    fn();
  } catch (err) {
    throw fail(key, `not usable: ${(err as Error).message}`);
  }
}
