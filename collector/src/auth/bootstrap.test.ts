import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestStore, type TestStore } from '../../../exporters/clickhouse/embedded.testing.js';
import { bootstrapAdminToken, ownFileReadableByOthers } from './bootstrap.js';
import { generateToken } from './token-format.js';
import { TokenStore } from './token-store.js';

let testStore: TestStore;
let dir: string;
beforeAll(() => {
  testStore = openTestStore('ft-bootstrap-');
  dir = mkdtempSync(join(tmpdir(), 'ft-bootstrap-file-'));
});
afterAll(() => {
  testStore.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('bootstrap token rotation', () => {
  it('revokes the previous bootstrap token when the file holds a new one, and keeps other tokens', async () => {
    const tokens = new TokenStore(testStore.clients, 'bootstrap_rotation');
    await tokens.start();
    const logger = pino({ level: 'silent' });
    const file = join(dir, 'token');
    const first = generateToken();
    writeFileSync(file, first + '\n', { mode: 0o600 });
    await bootstrapAdminToken(file, tokens, logger);
    const { token: other } = await tokens.create({ name: 'grafana', scopes: ['read'] });
    // A restart with the same file changes nothing.
    await bootstrapAdminToken(file, tokens, logger);
    expect(await tokens.verify(first)).toMatchObject({ name: 'bootstrap' });

    const second = generateToken();
    writeFileSync(file, second + '\n', { mode: 0o600 });
    await bootstrapAdminToken(file, tokens, logger);
    expect(await tokens.verify(second)).toMatchObject({ name: 'bootstrap' });
    await expect(tokens.verify(first)).rejects.toThrow(/revoked/);
    expect(await tokens.verify(other)).toMatchObject({ name: 'grafana' });
    tokens.stop();
  });
});

describe('bootstrap token file permissions', () => {
  it("warns when the collector's own file is readable by its group or by others", () => {
    expect(ownFileReadableByOthers(0o100600, 1000, 1000)).toBe(false);
    expect(ownFileReadableByOthers(0o100400, 1000, 1000)).toBe(false);
    expect(ownFileReadableByOthers(0o100640, 1000, 1000)).toBe(true);
    expect(ownFileReadableByOthers(0o100644, 1000, 1000)).toBe(true);
  });

  it("leaves a platform's secret mount alone: Docker's root-owned 0444, Kubernetes' 0440 under fsGroup", () => {
    expect(ownFileReadableByOthers(0o100444, 0, 10001)).toBe(false);
    expect(ownFileReadableByOthers(0o100440, 0, 10001)).toBe(false);
  });

  it('cannot tell without a process user id (Windows), and then says nothing', () => {
    expect(ownFileReadableByOthers(0o100644, 0, undefined)).toBe(false);
  });
});
