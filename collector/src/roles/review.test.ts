/**
 * Issue 18 review (attacker / hard user) of the roles' config: a secret written into the
 * owner's URLs must be refused at load, naming the key and not echoing the secret; otherwise it
 * would be sent nowhere (fetch refuses URLs with credentials) and printed in every failed side-row
 * write (roles/owner-rows.ts names the owner's URL in its errors).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config/load.js';

const dir = mkdtempSync(join(tmpdir(), 'roles-review-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

function loadError(yaml: string): Error {
  const file = join(dir, `c${files++}.yaml`);
  writeFileSync(file, yaml);
  try {
    loadConfig({ file, env: {} });
  } catch (err) {
    return err as Error;
  }
  throw new Error('accepted');
}

describe('issue 18 review: storage.owner', () => {
  for (const key of ['api', 'endpoint'] as const) {
    it(`credentials in storage.owner.${key} are refused, the key named, the secret not echoed`, () => {
      const urls = { endpoint: 'http://127.0.0.1:4318', api: 'http://127.0.0.1:8686' };
      urls[key] = `http://flowtrace:s3cret-pass@127.0.0.1:${key === 'api' ? 8686 : 4318}`;
      const err = loadError(`role: process\nstorage:\n  owner:\n    endpoint: ${urls.endpoint}\n    api: ${urls.api}\n`);
      expect(err).toBeInstanceOf(ConfigError);
      expect(err.message).toMatch(new RegExp(`^storage\\.owner\\.${key}: `));
      expect(err.message).not.toContain('s3cret-pass');
    });
  }
});
