import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../command.js';
import { detectNodeProject, initNodeCommand } from './init-node.js';
import { runInProject, writeProjectFile } from './project-dir.testing.js';

let dir: string;

const write = (rel: string, content: string) => writeProjectFile(dir, rel, content);
const run = (argv: string[]) => runInProject(initNodeCommand, argv, dir);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'flowtrace-init-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('flowtrace init node', () => {
  it('proposes --import and the source folders for an ES module project', async () => {
    write('package.json', JSON.stringify({ name: 'shop', type: 'module', scripts: { start: 'node --enable-source-maps src/server.js' } }));
    write('src/server.js', 'export {}');
    write('lib/util/x.js', 'export {}');
    write('test/a.test.js', '');
    const { code, out } = await run([]);
    expect(code).toBe(0);
    expect(out).toContain('# FlowTrace agent for shop (ES modules, entry src/server.js)');
    expect(out).toContain('npm install @flowtrace/agent-node');
    expect(out).toContain('export OTEL_SERVICE_NAME=shop');
    expect(out).toContain('export OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317');
    expect(out).toContain('export FLOWTRACE_INCLUDE=src/,lib/');
    expect(out).toContain('node --import @flowtrace/agent-node/register src/server.js');
    expect(out).toContain('export NODE_OPTIONS="--import @flowtrace/agent-node/register"');
  });

  it('proposes --require for CommonJS, and the folder the entry runs from', async () => {
    write('package.json', JSON.stringify({ name: 'billing', main: 'app/index.js' }));
    write('app/index.js', 'module.exports = {}');
    const { out } = await run(['--service', 'billing-api', '--endpoint', 'http://otel:4317']);
    expect(out).toContain('(CommonJS, entry app/index.js)');
    expect(out).toContain('export OTEL_SERVICE_NAME=billing-api');
    expect(out).toContain('export OTEL_EXPORTER_OTLP_ENDPOINT=http://otel:4317');
    expect(out).toContain('export FLOWTRACE_INCLUDE=app/');
    expect(out).toContain('node --require @flowtrace/agent-node/register app/index.js');
  });

  it('traces the compiled output, not the TypeScript sources, when the entry is in dist/', () => {
    write('package.json', JSON.stringify({ name: 'ts-app', main: 'dist/main.js' }));
    write('dist/main.js', '');
    write('src/main.ts', '');
    const p = detectNodeProject(dir);
    expect(p.include).toEqual(['dist/']);
    expect(p.esm).toBe(false);
  });

  it('falls back to the agent default when the code sits at the top level', async () => {
    write('package.json', JSON.stringify({ name: 'tiny' }));
    write('index.mjs', '');
    const { out } = await run(['--entry', 'index.mjs']);
    expect(out).toContain('(ES modules, entry index.mjs)');
    expect(out).toContain('FLOWTRACE_INCLUDE unset');
  });

  it('writes flowtrace.config.json with --write, and will not overwrite it without --force', async () => {
    write('package.json', JSON.stringify({ name: 'shop', type: 'module', main: 'src/index.js' }));
    write('src/index.js', '');
    const first = await run(['--write', '--capture-args']);
    expect(first.code).toBe(0);
    const file = join(dir, 'flowtrace.config.json');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ serviceName: 'shop', endpoint: 'http://localhost:4317', include: ['src/'], captureArgs: true });
    expect(first.out).toContain(`# Settings written to ${file}`);
    expect(first.out).not.toContain('export OTEL_SERVICE_NAME');
    const second = await run(['--write']);
    expect(second.code).toBe(1);
    expect(second.err).toContain('--force');
    expect((await run(['--write', '--force', '--include', 'src/services/'])).code).toBe(0);
    expect(JSON.parse(readFileSync(file, 'utf8')).include).toEqual(['src/services/']);
  });

  it('looks at another folder given as argument', async () => {
    mkdirSync(join(dir, 'svc'));
    writeFileSync(join(dir, 'svc', 'package.json'), JSON.stringify({ name: 'svc', main: 'server.js' }));
    writeFileSync(join(dir, 'svc', 'server.js'), '');
    const { out } = await run(['svc']);
    expect(out).toContain('node --require @flowtrace/agent-node/register server.js');
  });

  it('says what is wrong with the project (exit 1) or the command line (usage error)', async () => {
    const missing = await run([]);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('no package.json');
    write('package.json', '{}');
    expect((await run(['--entry', 'nope.js'])).err).toContain('nope.js does not exist');
    await expect(run(['--colour'])).rejects.toBeInstanceOf(UsageError);
    await expect(run(['--endpoint', 'localhost:4317'])).rejects.toThrow('--endpoint');
    await expect(run(['--force'])).rejects.toThrow('--write');
    await expect(run(['a', 'b'])).rejects.toBeInstanceOf(UsageError);
    expect(existsSync(join(dir, 'flowtrace.config.json'))).toBe(false);
  });

  it('prints its help', async () => {
    const { code, out } = await run(['--help']);
    expect(code).toBe(0);
    expect(out).toContain('Usage: flowtrace init node');
  });
});
