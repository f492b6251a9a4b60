import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import { ExporterConfigError } from '../exporter.js';
import type { OtlpExporterConfig } from './config.js';

/** The PEM material an exporter connects with, read and checked once at start. */
export interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized: boolean;
}

/**
 * Reads `tls.ca_file`, `tls.cert_file` and `tls.key_file` and has Node parse them, so that a
 * missing file, a file that is not PEM, or a key that does not match its certificate stops
 * the collector at start-up with the key to fix, rather than failing every export later.
 * `keyPrefix` is where the exporter's settings sit, e.g. `exporters.otlp/honeycomb`.
 */
export async function loadTls(tls: OtlpExporterConfig['tls'], keyPrefix: string): Promise<TlsMaterial> {
  const material: TlsMaterial = { rejectUnauthorized: !tls.insecure_skip_verify };
  const read = async (field: 'ca_file' | 'cert_file' | 'key_file'): Promise<Buffer | undefined> => {
    const file = tls[field];
    if (file === undefined) return undefined;
    try {
      return await readFile(file);
    } catch (err) {
      throw new ExporterConfigError(`${keyPrefix}.tls.${field}`, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  };
  material.ca = await read('ca_file');
  material.cert = await read('cert_file');
  material.key = await read('key_file');
  if (material.ca !== undefined) check(`${keyPrefix}.tls.ca_file`, () => parseCertificates(material.ca!));
  if (material.cert !== undefined) {
    check(`${keyPrefix}.tls.cert_file`, () => createSecureContext({ cert: material.cert, key: material.key }));
  }
  return material;
}

/** Node takes any bytes as a CA bundle and trusts nothing from a bad one: parse each certificate. */
function parseCertificates(pem: Buffer): void {
  const blocks = pem.toString('latin1').match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new Error('no PEM certificate (-----BEGIN CERTIFICATE-----) in it');
  blocks.forEach((block, i) => {
    try {
      new X509Certificate(block);
    } catch (err) {
      throw new Error(`certificate ${i + 1}: ${(err as Error).message}`);
    }
  });
}

function check(key: string, fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    throw new ExporterConfigError(key, `not usable: ${(err as Error).message}`);
  }
}
