/**
 * The `kafka` exporter and `receivers.kafka` against a broker that requires TLS and SASL (Kafka
 * 4.4.0, KRaft: test/helpers/kafka.ts, a SASL_SSL listener with SCRAM-SHA-512 and PLAIN): traces
 * go through over TLS with either mechanism, the broker verified with `ca_file`; a wrong password
 * is refused with an error that names authentication and never shows the password (exporter
 * error, receiver log); an untrusted broker certificate is refused; insecure_skip_verify connects.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { kafkaReceiverConfigSchema } from '../../collector/src/receivers/kafka/config.js';
import { KafkaReceiver } from '../../collector/src/receivers/kafka/receiver.js';
import { Ingest } from '../../collector/src/receivers/ingest.js';
import { Capture } from '../../collector/src/receivers/receiver.testing.js';
import { RecordedDrops } from '../../collector/src/pipeline/drops.testing.js';
import { CollectorMetrics } from '../../collector/src/telemetry.js';
import { waitFor } from '../../test/helpers/collector.js';
import { KAFKA_HOOK_TIMEOUT_MS, startKafka, type RunningKafka } from '../../test/helpers/kafka.js';
import { ExportError } from '../exporter.js';
import { hasOpenssl, makeTestPki, type TestPki } from '../otlp/certs.testing.js';
import { readMessages, silentLogger, startedKafkaExporter, traceSpans } from './kafka.testing.js';

const USER = 'flowtrace';
const PASSWORD = 'Secret-pw.4711';
const WRONG_PASSWORD = 'Wrong-pw.0815';

let pki: TestPki;
let kafka: RunningKafka;
const receivers: KafkaReceiver[] = [];

beforeAll(async () => {
  // The certificates are made with the openssl CLI: without it there is nothing to test against.
  expect(hasOpenssl(), 'openssl CLI on PATH').toBe(true);
  pki = makeTestPki();
  kafka = await startKafka({
    partitions: 2,
    sasl: { mechanisms: ['SCRAM-SHA-512', 'PLAIN'], users: { [USER]: PASSWORD } },
    tls: { certPem: pki.read(pki.serverCertFile).toString(), keyPem: pki.read(pki.serverKeyFile).toString(), caPem: pki.read(pki.caFile).toString() },
  });
  for (const topic of ['scram', 'plain', 'skip-verify']) await kafka.createTopic(topic, 2);
}, KAFKA_HOOK_TIMEOUT_MS);

afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.shutdown()));
});

afterAll(async () => {
  await kafka?.stop();
  pki?.remove();
});

type Mechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512';

/** The connection settings as a user writes them, to the broker's SASL_SSL listener. */
function connection(o: { mechanism?: Mechanism; password?: string; tls?: Record<string, unknown> } = {}): Record<string, unknown> {
  return {
    brokers: [kafka.securedBrokers!],
    tls: o.tls ?? { enabled: true, ca_file: pki.caFile },
    sasl: { mechanism: o.mechanism ?? 'scram-sha-512', username: USER, password: o.password ?? PASSWORD },
  };
}

/** A pino logger at debug whose lines are kept (to check what the receiver says, and what it must not). */
function recordingLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), text: () => lines.join('') };
}

async function startReceiver(settings: Record<string, unknown>, topic: string, logger = silentLogger) {
  const capture = new Capture();
  const drops = new RecordedDrops();
  const config = kafkaReceiverConfigSchema.parse({
    enabled: true,
    ...settings,
    topic,
    group_id: `g-${topic}-${receivers.length}`,
    session_timeout_ms: 6000,
    heartbeat_interval_ms: 500,
  });
  const registry = new Registry();
  const receiver = new KafkaReceiver(config, new Ingest(capture, new CollectorMetrics(), undefined, { drops }), logger, { registry, drops, shutdownTimeoutMs: 3000 });
  receivers.push(receiver);
  await receiver.start();
  /** Times the group gave this receiver an assignment: it joined. */
  const joins = async () => (await registry.getSingleMetric('flowtrace_kafka_rebalances_total')!.get()).values[0]?.value ?? 0;
  return { receiver, capture, joins };
}

/** Publishes `traces` with an exporter of `settings`; resolves when the brokers acknowledged them. */
async function publish(settings: Record<string, unknown>, topic: string, traces: ReturnType<typeof traceSpans>[], timeoutMs = 10_000): Promise<void> {
  const exporter = await startedKafkaExporter({ ...settings, topic, timeout_ms: timeoutMs });
  try {
    const spans = traces.flat();
    await exporter.send(Buffer.from(exporter.encode(spans)), spans.length, 'b');
  } finally {
    await exporter.shutdown();
  }
}

async function sendError(settings: Record<string, unknown>, topic: string): Promise<ExportError> {
  const err = await publish(settings, topic, [traceSpans(1)], 8000).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'the send must fail').toBeInstanceOf(ExportError);
  return err as ExportError;
}

async function roundTrip(mechanism: Mechanism, topic: string): Promise<void> {
  const traces = Array.from({ length: 6 }, (_, i) => traceSpans(1 + (i % 3)));
  await publish(connection({ mechanism }), topic, traces);
  const log = recordingLogger();
  const { receiver, capture, joins } = await startReceiver(connection({ mechanism }), topic, log.logger);
  const want = traces.flat();
  await waitFor(async () => (capture.spans.length >= want.length ? true : undefined), `${want.length} spans through the receiver (${mechanism} over TLS)`);
  expect(receiver.ready).toBe(true);
  expect(await joins()).toBeGreaterThanOrEqual(1);
  expect(log.text()).not.toContain(PASSWORD);
  expect(new Set(capture.spans.map((s) => `${s.traceId}/${s.spanId}`))).toEqual(new Set(want.map((s) => `${s.traceId}/${s.spanId}`)));
}

describe('kafka over TLS with SASL (real broker)', () => {
  it('the broker really requires them: a PLAINTEXT client on the secured listener gets nowhere', async () => {
    const err = await sendError({ brokers: [kafka.securedBrokers!] }, 'scram');
    expect(kafka.securedProtocol).toBe('SASL_SSL');
    expect(err.message).toMatch(/Connection closed/);
  });

  it('SCRAM-SHA-512, broker verified with ca_file: the exporter publishes, the receiver consumes', async () => {
    await roundTrip('scram-sha-512', 'scram');
  });

  it('PLAIN over TLS: the exporter publishes, the receiver consumes', async () => {
    await roundTrip('plain', 'plain');
  });

  it('a wrong password: the exporter names the authentication failure, never the password', async () => {
    for (const mechanism of ['scram-sha-512', 'plain'] as const) {
      const err = await sendError(connection({ mechanism, password: WRONG_PASSWORD }), 'scram');
      expect(err.message, mechanism).toMatch(/SASL_AUTHENTICATION_FAILED/);
      // Retryable by design (errors.ts): credentials are something an operator fixes while the queue holds the batch.
      expect(err.retryable).toBe(true);
      expect(err.message).not.toContain(WRONG_PASSWORD);
      expect(err.message).not.toContain(PASSWORD);
    }
  });

  it('a wrong password: the receiver does not join, is not ready, logs why without the password', async () => {
    const log = recordingLogger();
    const { receiver, capture, joins } = await startReceiver(connection({ password: WRONG_PASSWORD }), 'scram', log.logger);
    const reconnects = () => log.text().split('\n').filter((l) => l.includes('kafka receiver: reconnecting'));
    // Two failed attempts: it keeps trying, and it never joined in between.
    await waitFor(async () => (reconnects().length >= 2 ? true : undefined), 'the receiver logs two failed connections');
    expect(receiver.ready).toBe(false);
    expect(capture.spans).toHaveLength(0);
    expect(reconnects()[0]).toMatch(/SASL_AUTHENTICATION_FAILED/);
    expect(await joins()).toBe(0);
    const text = log.text();
    expect(text).not.toContain(WRONG_PASSWORD);
    expect(text).not.toContain(PASSWORD);
  });

  it('an untrusted broker certificate is refused (system roots, or another CA)', async () => {
    for (const tls of [{ enabled: true }, { enabled: true, ca_file: pki.otherCaFile }]) {
      const err = await sendError(connection({ tls }), 'scram');
      expect(err.message, JSON.stringify(tls)).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
    }
  });

  it('insecure_skip_verify: true connects without a CA', async () => {
    const traces = [traceSpans(2), traceSpans(1)];
    await publish(connection({ tls: { enabled: true, insecure_skip_verify: true } }), 'skip-verify', traces);
    // Read back over the PLAINTEXT listener: what arrived is what was sent.
    const messages = await readMessages(kafka.brokers, 'skip-verify', traces.length);
    expect(new Set(messages.map((m) => m.key.toString('hex')))).toEqual(new Set(traces.map((t) => t[0]!.traceId)));
  });
});
