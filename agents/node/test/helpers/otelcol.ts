import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * The real OpenTelemetry Collector (test/peers/otelcol: otlp receiver, otlphttp exporter),
 * built by test/peers/build.sh (cached; a cold build takes minutes). It receives what the
 * agent sends over OTLP/gRPC or OTLP/HTTP, checks it as any collector would, and forwards
 * traces and logs as OTLP/JSON to `forwardTo`.
 */
export interface Otelcol {
  grpcEndpoint: string;
  httpEndpoint: string;
  log(): string;
  stop(): Promise<void>;
}

const BUILD_SCRIPT = resolve(__dirname, '../../../../test/peers/build.sh');

export function otelcolBinary(): string {
  const r = spawnSync('bash', [BUILD_SCRIPT, 'otelcol'], { encoding: 'utf8', timeout: 30 * 60_000 });
  if (r.status !== 0) throw new Error(`test/peers/build.sh otelcol failed:\n${r.stderr.slice(-3000)}`);
  return r.stdout.trim().split('\n').pop() ?? '';
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr !== null && typeof addr === 'object' ? res(addr.port) : rej(new Error('no port'))));
    });
  });
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((res) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      res(true);
    });
    socket.once('error', () => res(false));
  });
}

export async function startOtelcol(forwardTo: string): Promise<Otelcol> {
  const bin = otelcolBinary();
  const dir = mkdtempSync(join(tmpdir(), 'flowtrace-agent-otelcol-'));
  const [grpc, http] = [await freePort(), await freePort()];
  const config = join(dir, 'config.yaml');
  writeFileSync(
    config,
    `receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:${grpc}
      http:
        endpoint: 127.0.0.1:${http}
exporters:
  otlphttp:
    endpoint: ${forwardTo}
    encoding: json
    compression: none
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [otlphttp]
    logs:
      receivers: [otlp]
      exporters: [otlphttp]
`,
  );
  let output = '';
  const child: ChildProcess = spawn(bin, [`--config=${config}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let gone = false;
  void exited.then(() => (gone = true));
  // Ready when both receivers accept connections; a refused config exits instead.
  while (!((await tcpOpen(grpc)) && (await tcpOpen(http)))) {
    if (gone) throw new Error(`otelcol exited before listening:\n${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    grpcEndpoint: `http://127.0.0.1:${grpc}`,
    httpEndpoint: `http://127.0.0.1:${http}`,
    log: () => output,
    async stop() {
      if (!gone) {
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
