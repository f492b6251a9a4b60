import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from '../main.js';

/** Runs `flowtrace bench ARGS` in process; nothing listens on port 9, so no load is ever sent. */
async function bench(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await main(['bench', ...args], { stdout, stderr, env, cwd: process.cwd() });
  return { code, stdout: out, stderr: err };
}

describe('flowtrace bench: its flags', () => {
  it.each([
    [['--endpoint', 'ftp://host:21'], /--endpoint: .*scheme must be http, https .* or grpc, grpcs/],
    [['--endpoint', 'not a url'], /--endpoint: expected a URL such as http:\/\/127\.0\.0\.1:4318/],
    [['--endpoint', 'http://host:4318/v1/traces'], /--endpoint: .*only scheme, host and port/],
    [['--seconds', '0'], /--seconds: expected a whole number from 1 to 86400, got '0'/],
    [['--spans', '12k'], /--spans: expected a whole number/],
    [['--seconds', '5', '--spans', '100'], /give --seconds or --spans, not both/],
    [['--clients', '65'], /--clients: expected a whole number from 1 to 64/],
    [['--spans-per-request', '0'], /--spans-per-request: expected a whole number from 1 to 10000/],
    [['--services', '0'], /--services: expected a whole number from 1 to 1000/],
    [['--spread', '1d'], /--spread: expected a duration such as 250ms/],
    [['--spread', '800h'], /--spread: at most 744h \(31 days\)/],
    [['--ingest-token-file', '/nonexistent/token'], /--ingest-token-file: cannot read \/nonexistent\/token: ENOENT/],
    [['--wait', 'x'], /--wait: expected a whole number/],
    [['--frobnicate'], /Unknown option '--frobnicate'/],
    [['extra'], /unexpected argument 'extra'/],
  ])('refuses %j with exit 2 and a message naming the flag', async (args, message) => {
    const { code, stderr, stdout } = await bench(args);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stdout).toBe('');
  });

  it('prints its help with exit 0', async () => {
    const { code, stdout } = await bench(['--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('--spread DURATION');
  });

  it('reports a collector it cannot reach with exit 1, never printing the ingest token', async () => {
    const { code, stderr, stdout } = await bench(['--endpoint', 'http://127.0.0.1:9', '--spans', '10', '--clients', '1', '--no-stored'], { FLOWTRACE_INGEST_TOKEN: 'ft_secret_ingest_token' });
    expect(code).toBe(1);
    expect(stderr).toMatch(/flowtrace bench: cannot send to http:\/\/127\.0\.0\.1:9\/v1\/traces: ECONNREFUSED/);
    expect(stdout + stderr).not.toContain('ft_secret_ingest_token');
  });
});
