// Attacks on the extension's plain modules and manifest (security review): a span naming a file
// outside the workspace, a span or collector text that would become a notification link, and a
// workspace's settings pointing the stored token at another host.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { notificationText } from '../src/core/notification-text.js';
import { resolveSpanFile, type FileLookup } from '../src/core/path-mapping.js';
import type { WaterfallModel, WaterfallRow } from '../src/core/waterfall.js';
import { contentSecurityPolicy, newNonce, waterfallHtml } from '../src/core/webview-html.js';

describe('jump to source never opens a file outside the workspace', () => {
  const root = mkdtempSync(join(tmpdir(), 'ft-vscode-sec-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const workspace = join(root, 'workspace');
  const secret = join(root, 'home/.ssh/id_rsa');
  for (const f of [join(workspace, 'src/app.js'), secret]) {
    mkdirSync(join(f, '..'), { recursive: true });
    writeFileSync(f, 'x');
  }
  const sibling = `${workspace}-evil/lib/x.js`;
  const files = [join(workspace, 'src/app.js'), secret, '/etc/passwd', sibling];
  const lookup: FileLookup = {
    exists: async (p) => files.includes(p),
    findBySuffix: async (suffix, max) => files.filter((f) => f.startsWith(`${workspace}/`) && f.endsWith(`/${suffix}`)).slice(0, max),
  };

  it('refuses an absolute code.file.path outside every workspace folder, even when that file exists', async () => {
    expect(await resolveSpanFile('/etc/passwd', [workspace], lookup)).toEqual({ kind: 'missing' });
    expect(await resolveSpanFile(secret, [workspace], lookup)).toEqual({ kind: 'missing' });
    // A sibling folder whose name starts with the workspace's is outside it too.
    expect(await resolveSpanFile(sibling, [workspace], lookup)).toEqual({ kind: 'missing' });
  });

  it('still opens an absolute path inside the workspace, and maps a foreign absolute path into it', async () => {
    expect(await resolveSpanFile(join(workspace, 'src/app.js'), [workspace], lookup)).toEqual({ kind: 'file', path: join(workspace, 'src/app.js') });
    expect(await resolveSpanFile('/home/runner/work/shop/src/app.js', [workspace], lookup)).toEqual({ kind: 'file', path: join(workspace, 'src/app.js') });
    expect(await resolveSpanFile('C:\\build\\src\\app.js', [workspace], lookup)).toEqual({ kind: 'file', path: join(workspace, 'src/app.js') });
  });
});

/** VS Code's notification link syntax (src/vs/base/common/linkedText.ts, LINK_REGEX). */
const VSCODE_LINK = /\[([^\]]+)\]\(((?:https?:\/\/|command:|file:)[^\)\s]+)(?: (["'])(.+?)(\3))?\)/gi;

describe('notification text', () => {
  it('never carries a link from a span name, a file path or a collector message', () => {
    for (const hostile of [
      'FlowTrace: span "[Open source](command:workbench.action.terminal.new)" has no code.file.path',
      'FlowTrace: [/srv/app.js](file:///etc/passwd): no such file in this workspace.',
      'FlowTrace: the collector answered 400: [docs](https://evil.example/phish "t")',
    ]) {
      expect(hostile.match(VSCODE_LINK)).not.toBeNull();
      const safe = notificationText(hostile);
      expect(safe.match(VSCODE_LINK)).toBeNull();
      expect(safe.replaceAll('\u200b', '')).toBe(hostile);
    }
    expect(notificationText('src/[id].tsx: no such file')).toBe('src/[id].tsx: no such file');
  });
});

describe('the manifest', () => {
  const manifest = JSON.parse(readFileSync(resolve(import.meta.dirname, '../package.json'), 'utf8')) as {
    contributes: { configuration: { properties: Record<string, { scope?: string }> } };
  };
  it('lets only user settings choose where the token is sent (a workspace .vscode/settings.json cannot)', () => {
    expect(manifest.contributes.configuration.properties['flowtrace.collectorUrl']!.scope).toBe('application');
  });
});

describe('the waterfall page', () => {
  const evil = `"><img src=x onerror=alert(1)></style></script><script>alert(2)</script>' onmouseover='alert(3)`;
  const row = (over: Partial<WaterfallRow>): WaterfallRow => ({
    kind: 'span', spanId: 'a'.repeat(16), depth: 0, label: evil, service: evil, spanKind: 'Server', method: true, error: true, count: 1, leftPct: 0, widthPct: 50, duration: evil, ...over,
  });
  const model: WaterfallModel = {
    traceId: evil,
    spanCount: 3,
    hiddenSpanCount: 0,
    correlationId: evil,
    services: [evil],
    duration: evil,
    rows: [row({}), row({ spanId: `${'b'.repeat(16)}" onclick="alert(4)`, depth: 1 }), row({ kind: 'group', spanId: '', count: 2, leftPct: Number.NaN, widthPct: Number.POSITIVE_INFINITY })],
    omittedRows: 0,
  };

  it('escapes every text from the trace, lets no ID break out of its attribute, and runs only its own nonce\'d script', () => {
    const nonce = newNonce();
    const html = waterfallHtml(model, { nonce });
    expect(html.match(/<script\b/g)).toHaveLength(1);
    expect(html.match(/<\/script>/g)).toHaveLength(1);
    expect(html.match(/<style\b/g)).toHaveLength(1);
    expect(html.match(/<\/style>/g)).toHaveLength(1);
    // Escaped text holds no `<` or `>`: every `<…>` is one of the page's own tags, none with a handler.
    expect(html).not.toMatch(/<img|<[^>]*\son\w+=/i);
    expect(html).not.toContain('alert(4)');
    expect(html.match(/data-span="/g)).toHaveLength(1);
    expect(html).not.toMatch(/https?:|\/\/[a-z]/i);
    const csp = contentSecurityPolicy(nonce);
    expect(csp).toBe(`default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'; base-uri 'none'; form-action 'none'`);
    expect(csp).not.toMatch(/unsafe-|\*|data:|https?:/);
    expect(() => waterfallHtml(model, { nonce: `${nonce}' 'unsafe-inline` })).toThrow(/nonce/);
  });
});

describe('the token crosses the network only encrypted', () => {
  it('refuses an http:// collector URL off this machine, and takes http:// to loopback and https:// anywhere', async () => {
    const { parseCollectorUrl, CollectorError } = await import('../src/core/api-client.js');
    for (const remote of ['http://ft.example.com:8686', 'http://10.0.0.5:8686', 'http://[2001:db8::1]:8686', 'http://127.0.0.1.example.com:8686']) {
      expect(() => parseCollectorUrl(remote), remote).toThrow(CollectorError);
      expect(() => parseCollectorUrl(remote), remote).toThrow(/http:\/\/ only to this machine/);
    }
    for (const local of ['http://127.0.0.1:8686', 'http://localhost:8686', 'http://[::1]:8686', 'http://127.0.0.2:9000', 'https://ft.example.com', 'https://10.0.0.5:8686']) {
      expect(parseCollectorUrl(local).protocol, local).toMatch(/^https?:$/);
    }
  });
});
