import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { atRestKey, Keyring } from '../../collector/src/storage/encryption/keyring.js';
import { openClickHouse, type ClickHouseClients } from './connection.js';
import { diskKeyHex } from './encrypted-disk.js';
import { embeddedEngineConfigSchema } from './engine.js';

/** Every regular file under `dir`. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((n) => join(dir, n))
    .filter((p) => statSync(p, { throwIfNoEntry: false })?.isFile());
}

describe('the embedded engine on an encrypted disk: where its keys are', () => {
  const key = atRestKey(randomBytes(32));
  const diskKey = diskKeyHex(key.material);
  let dataDir: string;
  let clients: ClickHouseClients;
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'ft-engine-keys-'));
    clients = openClickHouse({
      url: '', username: 'default', password: '', database: 'default', tracesTable: 'otel_traces', dataDir, retentionDays: 7, concurrency: 1,
      embedded: embeddedEngineConfigSchema.parse({ max_server_memory_mib: 700, max_query_memory_mib: 96, merge_max_memory_mib: 80, cache_mib: 48 }),
      encryption: { keyring: new Keyring(key), spoolDir: '/dev/shm' },
    });
  });
  afterAll(async () => {
    await clients.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('puts parts on the encrypted disk, and the disk key is in no file under the data directory nor left in the environment', async () => {
    await clients.writer.command({ query: 'CREATE TABLE probe (s String) ENGINE = MergeTree ORDER BY s' });
    await clients.writer.command({ query: "INSERT INTO probe VALUES ('marker-row')" });
    const disks = await (await clients.reader.query({ query: "SELECT disk_name FROM system.parts WHERE table = 'probe' AND active", format: 'JSONEachRow' })).json<{ disk_name: string }>();
    expect(disks.map((d) => d.disk_name)).toEqual(['flowtrace_encrypted']);
    expect(Object.keys(process.env).filter((n) => n.startsWith('FLOWTRACE_ENGINE_DISK_KEY_'))).toEqual([]);
    const needles = [diskKey, diskKey.toUpperCase(), Buffer.from(diskKey, 'hex').toString('latin1'), key.material.toString('hex')];
    for (const file of filesUnder(dataDir)) {
      const text = readFileSync(file).toString('latin1');
      for (const n of needles) expect(text.includes(n), file).toBe(false);
    }
  });
});
