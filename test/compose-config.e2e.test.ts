/**
 * Every compose file, through the real Compose CLI's `config` (Compose v5 from the Go module
 * proxy, test/tools/build.sh; `config` needs no daemon): docker-compose.yml alone, with each
 * profile, and with the test override. What a user gets is checked on Compose's own resolved
 * model: services per profile, healthchecks, restart policies, named volumes, ports published on
 * loopback, the admin token as a secret from .env, listen addresses beyond loopback inside the
 * containers — and the collector's environment (plus the profile's config file) is loaded by the
 * collector's own config loader, so a setting the collector does not know fails here.
 *
 * The `clickhouse` and `jaeger` profiles use images that cannot be pulled on FlowTrace's build
 * machines: they are checked here, by `config`, only. test/compose.e2e.test.ts runs the default
 * services for real.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../collector/src/config/load.js';
import { runCommand } from './helpers/docker.js';
import { ensureTool, TOOL_BUILD_TIMEOUT_MS } from './helpers/tools.js';

const ROOT = resolve(import.meta.dirname, '..');
const TOKEN = `ft_${'a'.repeat(43)}`;
const DEMO_SERVICES = ['gateway', 'inventory', 'orders', 'payments', 'pricing', 'recommendations', 'warehouse'];

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string; network?: string; args?: Record<string, string> };
  profiles?: string[];
  restart?: string;
  read_only?: boolean;
  cap_drop?: string[];
  network_mode?: string;
  environment?: Record<string, string | null>;
  command?: string[];
  healthcheck?: { test: string[] };
  ports?: Array<{ host_ip?: string; target: number; published?: string }>;
  volumes?: Array<{ type: string; source: string; target: string; read_only?: boolean }>;
  networks?: Record<string, unknown>;
  entrypoint?: string[];
  secrets?: Array<{ source: string; target: string }>;
  configs?: Array<{ source: string; target: string }>;
  depends_on?: Record<string, { condition: string; required?: boolean }>;
}
interface ComposeModel {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
  networks?: Record<string, { internal?: boolean }>;
  secrets?: Record<string, { environment?: string }>;
  configs?: Record<string, { file?: string }>;
}

let compose: string;
let dir: string;

/** `compose config` of the given files and profiles, with `env` as the .env file and nothing from this process's environment. */
async function config(files: string[], profiles: string[], env: Record<string, string>): Promise<{ model: ComposeModel; stderr: string }> {
  const envFile = join(dir, `env-${Math.random().toString(36).slice(2)}`);
  writeFileSync(envFile, Object.entries(env).map(([k, v]) => `${k}=${v}\n`).join(''), { mode: 0o600 });
  const args = ['--env-file', envFile, ...files.flatMap((f) => ['-f', join(ROOT, f)]), ...profiles.flatMap((p) => ['--profile', p]), 'config', '--format', 'json'];
  const r = await runCommand(compose, args, { env: { PATH: process.env.PATH, HOME: dir }, cwd: ROOT, timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`compose config exited ${r.code}:\n${r.stderr}`);
  return { model: JSON.parse(r.stdout) as ComposeModel, stderr: r.stderr };
}

/** The FLOWTRACE_* variables deploy/collector.Dockerfile sets with ENV (`ENV A=b \\` continuation lines included). */
function collectorImageEnv(): Record<string, string> {
  const dockerfile = readFileSync(join(ROOT, 'deploy/collector.Dockerfile'), 'utf8');
  const envLines = dockerfile.replace(/\\\n/g, ' ').split('\n').filter((l) => l.startsWith('ENV '));
  return Object.fromEntries(envLines.flatMap((l) => [...l.matchAll(/(FLOWTRACE_[A-Z0-9_]+)=(\S+)/g)].map((m) => [m[1]!, m[2]!])));
}

/** Loads the collector's settings the way its container would: its environment, plus FLOWTRACE_CONFIG mapped back to the repository. */
function collectorConfig(model: ComposeModel) {
  const service = model.services.flowtrace!;
  const env = Object.fromEntries(Object.entries(service.environment ?? {}).filter((e): e is [string, string] => e[1] !== null && e[1] !== ''));
  const { FLOWTRACE_CONFIG: inContainer, ...rest } = env;
  let file: string | undefined;
  if (inContainer) {
    const mount = service.configs?.find((c) => c.target === inContainer);
    if (!mount) throw new Error(`FLOWTRACE_CONFIG=${inContainer} is not a config mounted into the collector`);
    file = model.configs![mount.source]!.file;
  }
  // The image's own settings first (deploy/collector.Dockerfile's ENV lines), then the service's.
  return loadConfig({ file, env: { ...collectorImageEnv(), ...rest } });
}

beforeAll(async () => {
  compose = await ensureTool('compose');
  dir = mkdtempSync(join(tmpdir(), 'ft-compose-config-'));
}, TOOL_BUILD_TIMEOUT_MS);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('docker-compose.yml (docker compose config)', () => {
  it('brings up the collector, seven demo services and the load generator, without a warning', async () => {
    const { model, stderr } = await config(['docker-compose.yml'], [], { FLOWTRACE_ADMIN_TOKEN: TOKEN });
    expect(Object.keys(model.services).sort()).toEqual(['flowtrace', 'gateway', 'inventory', 'loadgen', 'orders', 'payments', 'pricing', 'recommendations', 'warehouse']);
    expect(stderr).toBe('');
  });

  it('gives every service a restart policy (the load generator: on failure), each server a healthcheck, and starts the demo after a healthy collector', async () => {
    const { model } = await config(['docker-compose.yml'], [], { FLOWTRACE_ADMIN_TOKEN: TOKEN });
    for (const [name, s] of Object.entries(model.services)) {
      expect(s.restart, name).toBe(name === 'loadgen' ? 'on-failure' : 'unless-stopped');
      expect(s.cap_drop, name).toEqual(['ALL']);
      if (name !== 'loadgen') expect(s.healthcheck?.test[0], name).toBe('CMD');
      if (name !== 'flowtrace') {
        expect(s.read_only, name).toBe(true);
        expect(s.depends_on?.flowtrace?.condition ?? s.depends_on?.gateway?.condition, name).toBe('service_healthy');
      }
    }
    expect(model.services.gateway!.depends_on).toMatchObject({
      inventory: { condition: 'service_healthy' },
      payments: { condition: 'service_healthy' },
      orders: { condition: 'service_healthy' },
      recommendations: { condition: 'service_healthy' },
      pricing: { condition: 'service_healthy' },
    });
    expect(model.services.pricing!.depends_on).toMatchObject({ warehouse: { condition: 'service_healthy' } });
  });

  it('keeps data in a named volume, publishes on 127.0.0.1 only, and listens beyond loopback inside the container', async () => {
    const { model } = await config(['docker-compose.yml'], [], { FLOWTRACE_ADMIN_TOKEN: TOKEN });
    const collector = model.services.flowtrace!;
    expect(collector.volumes).toEqual([expect.objectContaining({ type: 'volume', source: 'flowtrace-data', target: '/data' })]);
    expect(Object.keys(model.volumes ?? {})).toContain('flowtrace-data');
    expect(collector.ports!.map((p) => `${p.host_ip}:${p.published}->${p.target}`).sort()).toEqual(['127.0.0.1:4317->4317', '127.0.0.1:4318->4318', '127.0.0.1:8686->8686']);
    const settings = collectorConfig(model);
    expect(settings.receivers.otlp.grpc.endpoint).toBe('0.0.0.0:4317');
    expect(settings.receivers.otlp.http.endpoint).toBe('0.0.0.0:4318');
    expect(settings.api.endpoint).toBe('0.0.0.0:8686');
    expect(settings.storage.data_dir).toBe('/data');
    expect(settings.storage.clickhouse.url).toBe('');
    expect(settings.exporters).toEqual([]);
  });

  it('takes the admin token from .env as a secret file (never in the environment), and lets agents send without credentials', async () => {
    const { model } = await config(['docker-compose.yml'], [], { FLOWTRACE_ADMIN_TOKEN: TOKEN });
    expect(model.secrets!['flowtrace-admin-token']).toMatchObject({ environment: 'FLOWTRACE_ADMIN_TOKEN' });
    const collector = model.services.flowtrace!;
    expect(collector.secrets).toEqual([{ source: 'flowtrace-admin-token', target: '/run/secrets/flowtrace-admin-token' }]);
    expect(JSON.stringify(model.services)).not.toContain(TOKEN);
    const settings = collectorConfig(model);
    expect(settings.auth.bootstrap_token_file).toBe('/run/secrets/flowtrace-admin-token');
    expect(settings.auth.ingest.required).toBe(false);
    for (const name of DEMO_SERVICES) expect(model.services[name]!.environment!.OTEL_EXPORTER_OTLP_ENDPOINT, name).toBe('http://flowtrace:4317');
  });

  it('runs the Java orders service under the Java agent, from its own image, listening on 0.0.0.0 as a non-root user', async () => {
    const { model } = await config(['docker-compose.yml'], [], { FLOWTRACE_ADMIN_TOKEN: TOKEN });
    const orders = model.services.orders!;
    expect(orders.image).toBe('flowtrace-demo-java:local');
    expect(orders.build).toMatchObject({ dockerfile: 'deploy/demo-java.Dockerfile', args: { BASE_IMAGE: 'node:20-bookworm-slim' } });
    expect(orders.command).toEqual(['java', '-Djava.net.preferIPv4Stack=true', '-javaagent:/opt/flowtrace/flowtrace-agent.jar', '-jar', 'spring-orders.jar']);
    expect(orders.environment).toMatchObject({ OTEL_SERVICE_NAME: 'orders', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', SERVER_PORT: '8083', FLOWTRACE_CAPTURE_ARGS: 'true' });
    expect(orders.ports ?? []).toEqual([]); // reached by the gateway only
    expect(model.services.gateway!.environment!.ORDERS_URL).toBe('http://orders:8083');
    // What the image sets: the listen address beyond loopback, and a non-root user.
    const dockerfile = readFileSync(join(ROOT, 'deploy/demo-java.Dockerfile'), 'utf8');
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(runtime).toMatch(/^ENV SERVER_ADDRESS=0\.0\.0\.0 \\$/m);
    expect(runtime).toMatch(/^USER \$\{DEMO_UID\}:\$\{DEMO_UID\}$/m);
    expect(runtime).toMatch(/^ARG DEMO_UID=10002$/m);
  });

  it('runs the Python recommendations service under the Python agent, from its own image, listening on 0.0.0.0 as a non-root user', async () => {
    const { model } = await config(['docker-compose.yml'], [], { FLOWTRACE_ADMIN_TOKEN: TOKEN });
    const recommendations = model.services.recommendations!;
    expect(recommendations.image).toBe('flowtrace-demo-python:local');
    expect(recommendations.build).toMatchObject({ dockerfile: 'deploy/demo-python.Dockerfile', args: { BASE_IMAGE: 'node:20-bookworm-slim' } });
    expect(recommendations.command).toEqual(['flowtrace-instrument', 'uvicorn', 'recommendations_app.main:app']);
    expect(recommendations.environment).toMatchObject({ OTEL_SERVICE_NAME: 'recommendations', UVICORN_HOST: '0.0.0.0', UVICORN_PORT: '8084', FLOWTRACE_CAPTURE_ARGS: 'true' });
    expect(recommendations.ports ?? []).toEqual([]); // reached by the gateway only
    expect(model.services.gateway!.environment!.RECOMMENDATIONS_URL).toBe('http://recommendations:8084');
    // What the image sets: the agent from the build context (not PyPI), every package pinned, the
    // listen address beyond loopback, and a non-root user.
    const dockerfile = readFileSync(join(ROOT, 'deploy/demo-python.Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^COPY agents\/python\/src\/flowtrace_agent /m);
    expect(dockerfile).toMatch(/pip install .*--no-deps .*\.\/agents\/python/);
    const requirements = readFileSync(join(ROOT, 'deploy/demo/recommendations/requirements.txt'), 'utf8').split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
    expect(requirements.filter((l) => !/^[A-Za-z0-9_.-]+==[A-Za-z0-9_.+-]+$/.test(l))).toEqual([]);
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(runtime).toMatch(/^ {4}UVICORN_HOST=0\.0\.0\.0 \\$/m);
    expect(runtime).toMatch(/^USER \$\{DEMO_UID\}:\$\{DEMO_UID\}$/m);
    expect(runtime).toMatch(/^ARG DEMO_UID=10002$/m);
  });

  it('runs the Go pricing service built with flowtrace-go and the Rust warehouse service, from their own images, listening on 0.0.0.0 as a non-root user', async () => {
    const { model } = await config(['docker-compose.yml'], [], { FLOWTRACE_ADMIN_TOKEN: TOKEN });
    const pricing = model.services.pricing!;
    expect(pricing.image).toBe('flowtrace-demo-go:local');
    expect(pricing.build).toMatchObject({ dockerfile: 'deploy/demo-go.Dockerfile', args: { BASE_IMAGE: 'node:20-bookworm-slim' } });
    expect(pricing.environment).toMatchObject({ OTEL_SERVICE_NAME: 'pricing', ADDR: '0.0.0.0', PORT: '8085', DOWNSTREAM_URL: 'http://warehouse:8086/stock/A-1', FLOWTRACE_CAPTURE_ARGS: 'true' });
    const warehouse = model.services.warehouse!;
    expect(warehouse.image).toBe('flowtrace-demo-rust:local');
    // The official rust image by default; RUST_IMAGE (deploy/rust-image.sh's) where no registry is reachable.
    expect(warehouse.build).toMatchObject({ dockerfile: 'deploy/demo-rust.Dockerfile', args: { BASE_IMAGE: 'node:20-bookworm-slim', RUST_IMAGE: 'rust:1.95.0-bookworm' } });
    expect((await config(['docker-compose.yml'], [], { FLOWTRACE_ADMIN_TOKEN: TOKEN, RUST_IMAGE: 'flowtrace-rust:x' })).model.services.warehouse!.build!.args!.RUST_IMAGE).toBe('flowtrace-rust:x');
    expect(warehouse.environment).toMatchObject({ OTEL_SERVICE_NAME: 'warehouse', ADDR: '0.0.0.0', PORT: '8086', FLOWTRACE_CAPTURE_ARGS: 'true' });
    for (const s of [pricing, warehouse]) expect(s.ports ?? []).toEqual([]); // reached by their callers only
    expect(model.services.gateway!.environment!.PRICING_URL).toBe('http://pricing:8085');
    // What the images set: the Go agent's tool and the example built from the build context, the
    // toolchain checked by its digest; the listen address beyond loopback, and a non-root user.
    const go = readFileSync(join(ROOT, 'deploy/demo-go.Dockerfile'), 'utf8');
    expect(go).toMatch(/^RUN go build -o \/out\/flowtrace-go \.\/cmd\/flowtrace-go \\\n && \/out\/flowtrace-go build -o \/out\/gin-service \.\/examples\/gin-service$/m);
    expect(go).toMatch(/sha256sum -c/);
    const rust = readFileSync(join(ROOT, 'deploy/demo-rust.Dockerfile'), 'utf8');
    expect(rust).toMatch(/^RUN cargo build --locked -p flowtrace-example-axum /m);
    for (const dockerfile of [go, rust]) {
      const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
      expect(runtime).toMatch(/^ENV ADDR=0\.0\.0\.0 \\$/m);
      expect(runtime).toMatch(/^USER \$\{DEMO_UID\}:\$\{DEMO_UID\}$/m);
      expect(runtime).toMatch(/^ARG DEMO_UID=10002$/m);
    }
  });

  it('publishes on every interface only when asked (FLOWTRACE_PUBLISH_HOST), and requires ingest tokens when asked', async () => {
    const { model } = await config(['docker-compose.yml'], [], { FLOWTRACE_ADMIN_TOKEN: TOKEN, FLOWTRACE_PUBLISH_HOST: '0.0.0.0', FLOWTRACE_AUTH_INGEST_REQUIRED: 'true' });
    expect(new Set(model.services.flowtrace!.ports!.map((p) => p.host_ip))).toEqual(new Set(['0.0.0.0']));
    expect(collectorConfig(model).auth.ingest.required).toBe(true);
  });

  it('profile clickhouse: a ClickHouse server with its own volume, and the collector storing there once it is healthy', async () => {
    const env = {
      FLOWTRACE_ADMIN_TOKEN: TOKEN,
      CLICKHOUSE_URL: 'http://clickhouse:8123',
      CLICKHOUSE_PASSWORD: 'chpass',
      CLICKHOUSE_GUEST_USERNAME: 'flowtrace_guest',
      CLICKHOUSE_GUEST_PASSWORD: 'guest-password-0123456789',
    };
    const { model, stderr } = await config(['docker-compose.yml'], ['clickhouse'], env);
    expect(stderr).toBe('');
    const clickhouse = model.services.clickhouse!;
    expect(clickhouse.volumes).toEqual([
      expect.objectContaining({ type: 'volume', source: 'clickhouse-data' }),
      expect.objectContaining({ type: 'bind', source: join(ROOT, 'deploy/compose/clickhouse-init'), target: '/docker-entrypoint-initdb.d', read_only: true }),
    ]);
    expect(clickhouse.healthcheck?.test[0]).toBe('CMD-SHELL');
    // It refuses to start without a password (the image would make a passwordless admin).
    expect(clickhouse.entrypoint!.join(' ')).toMatch(/-n "\$\$?CLICKHOUSE_PASSWORD" \] \|\| .*exit 2; \}; exec \/entrypoint.sh/);
    // Only the collector shares its network, which leads nowhere else.
    expect(Object.keys(clickhouse.networks!)).toEqual(['storage']);
    expect(model.networks!.storage).toMatchObject({ internal: true });
    const onStorage = Object.entries(model.services).filter(([, s]) => Object.keys(s.networks ?? {}).includes('storage')).map(([n]) => n);
    expect(onStorage.sort()).toEqual(['clickhouse', 'flowtrace']);
    expect(model.services.flowtrace!.depends_on!.clickhouse).toEqual({ condition: 'service_healthy', required: false });
    const settings = collectorConfig(model);
    expect(settings.storage.clickhouse).toMatchObject({
      url: 'http://clickhouse:8123',
      username: 'flowtrace',
      password: 'chpass',
      guest_username: 'flowtrace_guest',
      guest_password: 'guest-password-0123456789',
    });
  });

  it('profile jaeger: a Jaeger all-in-one, and the collector forwarding to it from the mounted config file', async () => {
    const env = { FLOWTRACE_ADMIN_TOKEN: TOKEN, FLOWTRACE_CONFIG: '/etc/flowtrace/jaeger.yaml' };
    const { model, stderr } = await config(['docker-compose.yml'], ['jaeger'], env);
    expect(stderr).toBe('');
    expect(model.services.jaeger!.ports!.map((p) => `${p.host_ip}:${p.published}->${p.target}`)).toEqual(['127.0.0.1:16686->16686']);
    const settings = collectorConfig(model);
    expect(settings.exporters).toEqual([expect.objectContaining({ type: 'jaeger', config: expect.objectContaining({ endpoint: 'http://jaeger:4317', protocol: 'grpc' }) })]);
    // Without the profile, no Jaeger service and no forwarding.
    const plain = await config(['docker-compose.yml'], [], { FLOWTRACE_ADMIN_TOKEN: TOKEN });
    expect(Object.keys(plain.model.services)).not.toContain('jaeger');
  });

  it('the test override (deploy/compose.test.yml): every container on the host network, nothing published', async () => {
    const ports = {
      FT_TEST_GRPC_PORT: '14317',
      FT_TEST_HTTP_PORT: '14318',
      FT_TEST_API_PORT: '18686',
      FT_TEST_GATEWAY_PORT: '18080',
      FT_TEST_INVENTORY_PORT: '18081',
      FT_TEST_PAYMENTS_PORT: '18082',
      FT_TEST_ORDERS_PORT: '18083',
      FT_TEST_RECOMMENDATIONS_PORT: '18084',
      FT_TEST_PRICING_PORT: '18085',
      FT_TEST_WAREHOUSE_PORT: '18086',
    };
    const { model, stderr } = await config(['docker-compose.yml', 'deploy/compose.test.yml'], [], { FLOWTRACE_ADMIN_TOKEN: TOKEN, ...ports });
    expect(stderr).toBe('');
    for (const [name, s] of Object.entries(model.services)) {
      expect(s.network_mode, name).toBe('host');
      expect(s.ports ?? [], name).toEqual([]);
      // Built on the host's network too, with docker-compose.yml's build settings kept.
      expect(s.build, name).toMatchObject({ network: 'host', args: { BASE_IMAGE: 'node:20-bookworm-slim' } });
    }
    expect(collectorConfig(model).api.endpoint).toBe('0.0.0.0:18686');
    expect(model.services.orders!.environment).toMatchObject({ SERVER_PORT: '18083', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:14317' });
    expect(model.services.gateway!.environment!.ORDERS_URL).toBe('http://127.0.0.1:18083');
    expect(model.services.recommendations!.environment).toMatchObject({ UVICORN_PORT: '18084', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:14317' });
    expect(model.services.gateway!.environment!.RECOMMENDATIONS_URL).toBe('http://127.0.0.1:18084');
    expect(model.services.pricing!.environment).toMatchObject({ PORT: '18085', DOWNSTREAM_URL: 'http://127.0.0.1:18086/stock/A-1', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:14317' });
    expect(model.services.warehouse!.environment).toMatchObject({ PORT: '18086', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:14317' });
    expect(model.services.gateway!.environment!.PRICING_URL).toBe('http://127.0.0.1:18085');
  });

  it(".env.example names only variables that docker-compose.yml reads", () => {
    const example = readFileSync(join(ROOT, '.env.example'), 'utf8');
    const composeText = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
    const names = [...example.matchAll(/^#?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]!);
    expect(names).toContain('FLOWTRACE_ADMIN_TOKEN');
    // COMPOSE_PROFILES is Compose's own.
    const unread = names.filter((n) => n !== 'COMPOSE_PROFILES' && !composeText.includes(`\${${n}`) && !composeText.includes(`environment: ${n}`));
    expect(unread).toEqual([]);
  });
});
