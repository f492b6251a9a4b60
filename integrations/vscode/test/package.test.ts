// The packaged extension: `scripts/package.mjs` (esbuild bundle, then `vsce package`) makes a
// .vsix whose manifest and file list are checked here, and whose bundle is loaded by Node with a
// stand-in `vscode` module to check that activation registers exactly the commands the
// manifest contributes. (The editor itself cannot run on this machine: see the README.)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const DIR = resolve(import.meta.dirname, '..');
const manifest = JSON.parse(readFileSync(join(DIR, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  main: string;
  engines: { vscode: string };
  activationEvents: string[];
  devDependencies: Record<string, string>;
  contributes: { commands: Array<{ command: string }>; configuration: { properties: Record<string, { type: string }> } };
};
const temp = mkdtempSync(join(tmpdir(), 'ft-vsix-'));
let vsix = '';

beforeAll(() => {
  const out = execFileSync(process.execPath, [join(DIR, 'scripts/package.mjs')], { cwd: DIR, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  vsix = out.trim().split('\n').pop()!;
}, 120_000);

afterAll(() => rmSync(temp, { recursive: true, force: true }));

const unzip = (...args: string[]) => execFileSync('unzip', args, { encoding: 'utf8' });

describe('the .vsix', () => {
  it('is named after the manifest and holds only the bundle, the manifest and the README', () => {
    expect(vsix).toBe(join(DIR, 'dist', `${manifest.name}-${manifest.version}.vsix`));
    const files = unzip('-Z1', vsix).trim().split('\n').sort();
    expect(files).toEqual(['[Content_Types].xml', 'extension.vsixmanifest', 'extension/dist/extension.js', 'extension/package.json', 'extension/readme.md']);
  });

  it('carries the manifest: engine, entry point, activation, commands and settings — no token setting', () => {
    const packaged = JSON.parse(unzip('-p', vsix, 'extension/package.json')) as typeof manifest;
    expect(packaged.engines.vscode).toBe('^1.90.0');
    // vsce refuses @types/vscode newer than the engine; the adapters are checked against that version.
    expect(manifest.devDependencies['@types/vscode']).toBe('^1.90.0');
    expect(packaged.main).toBe('./dist/extension.js');
    expect(packaged.activationEvents).toEqual(['onStartupFinished']);
    expect(packaged.contributes.commands.map((c) => c.command).sort()).toEqual(['flowtrace.connect', 'flowtrace.openTrace', 'flowtrace.refreshLenses', 'flowtrace.signOut']);
    const settings = Object.keys(packaged.contributes.configuration.properties).sort();
    expect(settings).toEqual(['flowtrace.codeLens.enabled', 'flowtrace.codeLens.lookback', 'flowtrace.collectorUrl', 'flowtrace.service']);
    expect(settings.filter((s) => /token|secret|password/i.test(s))).toEqual([]);
    const xml = unzip('-p', vsix, 'extension.vsixmanifest');
    expect(xml).toContain(`Id="${manifest.name}"`);
    expect(xml).toContain('Publisher="flowtrace"');
  });

  it('has a bundle that loads with only `vscode` provided and registers the manifest’s commands on activation', () => {
    const bundle = join(temp, 'extension.js');
    writeFileSync(bundle, unzip('-p', vsix, 'extension/dist/extension.js'));
    const stub = join(temp, 'vscode-stub.cjs');
    writeFileSync(
      stub,
      `const registered = { commands: [], lenses: [] };
const noop = () => ({ dispose() {} });
class EventEmitter { constructor() { this.listeners = []; } get event() { return (f) => { this.listeners.push(f); return { dispose() {} }; }; } fire() { for (const f of this.listeners) f(); } dispose() {} }
module.exports = {
  registered, EventEmitter,
  Disposable: { from: () => ({ dispose() {} }) },
  window: { createOutputChannel: () => ({ dispose() {}, warn() {}, info() {} }) },
  workspace: { onDidChangeConfiguration: noop, getConfiguration: () => ({ get: (_k, d) => d }) },
  languages: { registerCodeLensProvider: (selector) => { registered.lenses.push(selector); return { dispose() {} }; } },
  commands: { registerCommand: (id) => { registered.commands.push(id); return { dispose() {} }; } },
};`,
    );
    const script = `
const Module = require('node:module');
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) { return request === 'vscode' ? ${JSON.stringify(stub)} : resolveFilename.call(this, request, ...rest); };
const extension = require(${JSON.stringify(bundle)});
const context = { subscriptions: [], secrets: { get: async () => undefined, store: async () => {}, delete: async () => {}, onDidChange: () => ({ dispose() {} }) } };
extension.activate(context);
const { registered } = require('vscode');
console.log(JSON.stringify({ activate: typeof extension.activate, deactivate: typeof extension.deactivate, commands: registered.commands.sort(), lenses: registered.lenses, subscriptions: context.subscriptions.length }));`;
    const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })) as { activate: string; deactivate: string; commands: string[]; lenses: unknown[]; subscriptions: number };
    expect(out.activate).toBe('function');
    expect(out.deactivate).toBe('function');
    expect(out.commands).toEqual(manifest.contributes.commands.map((c) => c.command).sort());
    expect(out.lenses).toEqual([{ scheme: 'file' }]);
    expect(out.subscriptions).toBeGreaterThan(out.commands.length);
  });
});
