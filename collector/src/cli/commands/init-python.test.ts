import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../command.js';
import { detectPythonProject, initPythonCommand, moduleName } from './init-python.js';
import { runInProject, writeProjectFile } from './project-dir.testing.js';

let dir: string;
const write = (rel: string, content: string) => writeProjectFile(dir, rel, content);
const run = (argv: string[]) => runInProject(initPythonCommand, argv, dir);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ft-init-python-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('flowtrace init python', () => {
  it('names modules as Python imports them', () => {
    expect(moduleName('shop/api/main.py')).toBe('shop.api.main');
    expect(moduleName('src/shop/__init__.py')).toBe('shop');
    expect(moduleName('app.py')).toBe('app');
    expect(moduleName('my-tool/x.py')).toBeUndefined();
  });

  it('prints the uvicorn command for a FastAPI app, with the project name and packages', async () => {
    write('pyproject.toml', '[project]\nname = "quotes"\nversion = "1.0"\n\n[tool.x]\nname = "other"\n');
    write('quotes_app/__init__.py', '');
    write('quotes_app/main.py', 'from fastapi import FastAPI\n\napp = FastAPI(title="q")\n');
    write('quotes_app/pricing.py', 'def total(): pass\n');
    write('tests/test_x.py', 'app = FastAPI()\n');
    write('.venv/lib/site.py', 'app = FastAPI()\n');
    const { code, out } = await run([]);
    expect(code).toBe(0);
    expect(out).toContain('# FlowTrace agent for quotes (FastAPI, quotes_app.main:app)');
    expect(out).toMatch(/^pip install \S+agents\/python$/m);
    expect(out).toContain('export OTEL_SERVICE_NAME=quotes');
    expect(out).toContain('export OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317');
    expect(out).toContain('export FLOWTRACE_INCLUDE=quotes_app\n');
    expect(out).toContain('flowtrace-instrument uvicorn quotes_app.main:app --host 0.0.0.0 --port 8000');
    expect(out).toContain('-k uvicorn.workers.UvicornWorker');
  });

  it('prints gunicorn for Flask and Django, python -m for a package', async () => {
    write('src/payments/__init__.py', '');
    write('src/payments/web.py', 'import flask\nserver = flask.Flask(__name__)\n');
    expect(detectPythonProject(dir)).toMatchObject({ framework: 'flask', appTarget: 'payments.web:server', packages: ['payments'] });
    expect((await run(['--capture-args'])).out).toContain('flowtrace-instrument gunicorn -w 4 -b 0.0.0.0:8000 payments.web:server');

    rmSync(dir, { recursive: true, force: true });
    write('manage.py', 'import django\n');
    write('site_conf/wsgi.py', 'from django.core.wsgi import get_wsgi_application\napplication = get_wsgi_application()\n');
    write('orders/views.py', 'def index(r): pass\n');
    const django = await run(['--service', 'shop', '--include', 'orders,site_conf']);
    expect(django.out).toContain('flowtrace-instrument gunicorn -w 4 -b 0.0.0.0:8000 site_conf.wsgi:application');
    expect(django.out).toContain('flowtrace-instrument python manage.py runserver --noreload');
    expect(django.out).toContain('export FLOWTRACE_INCLUDE=orders,site_conf');
    expect(django.out).toContain('export OTEL_SERVICE_NAME=shop');

    rmSync(dir, { recursive: true, force: true });
    write('jobs/__init__.py', '');
    write('jobs/__main__.py', 'print(1)\n');
    expect((await run([])).out).toContain('flowtrace-instrument python -m jobs');
  });

  it('never prints a project name that spans lines (a command line of its own to copy)', async () => {
    write('pyproject.toml', '[project]\nname = "shop\nrm -rf ~ #"\n');
    write('app.py', 'from flask import Flask\napp = Flask(__name__)\n');
    const { code, out } = await run([]);
    expect(code).toBe(0);
    expect(out).not.toMatch(/^rm -rf/m);
  });

  it('refuses a folder without Python and bad options', async () => {
    const { code, err } = await run([]);
    expect(code).toBe(2);
    expect(err).toContain('no Python files');
    write('a.py', '');
    await expect(run(['--endpoint', 'ftp://x'])).rejects.toBeInstanceOf(UsageError);
    await expect(run(['--include', "a'b"])).rejects.toBeInstanceOf(UsageError);
    await expect(run(['x', 'y'])).rejects.toBeInstanceOf(UsageError);
  });
});
