/**
 * A real Apache Kafka broker for tests and bench:kafka-clients: Kafka 4.4.0 in KRaft mode (one
 * JVM that is both broker and controller), its jars copied from Maven Central by
 * test/peers/kafka/build.sh, run with this machine's java on free loopback ports, its log dirs
 * in a temp dir that stop() removes.
 *
 * With `sasl` and/or `tls` the broker gets a second client listener (SASL_SSL, SASL_PLAINTEXT or
 * SSL: `securedBrokers`) that requires them; PLAINTEXT stays for createTopic and inter-broker
 * traffic, the controller listener too.
 *
 * Nothing is mocked or skipped: if the jars cannot be had or the broker does not come up in
 * time, startKafka() throws with the tail of the broker's log.
 */
import { type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Admin } from '@platformatic/kafka';
import { join, resolve } from 'node:path';
import { freePort } from './peers.js';
import { launchLogged, runBuildScript, runCommand, tail, tcpOpen, type LoggedProcess } from './process.js';

const ROOT = resolve(import.meta.dirname, '../..');
export const KAFKA_BUILD_SCRIPT = join(ROOT, 'test/peers/kafka/build.sh');
export const KAFKA_VERSION = '4.4.0';

/** A cold ~/.m2 downloads ~55 MB of jars. */
export const KAFKA_BUILD_TIMEOUT_MS = 10 * 60_000;
/** For beforeAll hooks that call startKafka(): the jar copy plus a broker start. */
export const KAFKA_HOOK_TIMEOUT_MS = KAFKA_BUILD_TIMEOUT_MS + 2 * 60_000;

export type KafkaSaslMechanism = 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512';

/** A second client listener that requires SASL and/or TLS (the PLAINTEXT one stays, for createTopic and inter-broker traffic). */
export interface KafkaSecurityOptions {
  /** SASL mechanisms the secured listener accepts, and its users (name -> password; letters, digits, . _ - only). */
  sasl?: { mechanisms: KafkaSaslMechanism[]; users: Record<string, string> };
  /** The broker's certificate (for 127.0.0.1 / localhost), its unencrypted PKCS#8 key, and the CA that signed it. */
  tls?: { certPem: string; keyPem: string; caPem: string };
}

export interface RunningKafka {
  /** `127.0.0.1:PORT`: the PLAINTEXT listener, for a client's bootstrap list. */
  brokers: string;
  port: number;
  /** With `sasl` or `tls` asked: `127.0.0.1:PORT` of the listener that requires them. */
  securedBrokers?: string;
  securedPort?: number;
  /** SASL_SSL, SASL_PLAINTEXT or SSL: the secured listener's protocol. */
  securedProtocol?: 'SASL_SSL' | 'SASL_PLAINTEXT' | 'SSL';
  /** The broker JVM's pid (bench: its CPU time). */
  pid: number;
  logFile: string;
  /** Creates a topic (replication factor 1, the client's Admin API) and waits until every partition has a leader. */
  createTopic(name: string, partitions: number): Promise<void>;
  /** Whether the broker's JVM is running. */
  readonly running: boolean;
  /** SIGTERM (SIGKILL after 15 s), waits for the exit, removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let libDir: Promise<string> | undefined;

// Last resort if a test or bench forgets stop(): no broker outlives the process that started it.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
  if (!process.env.FLOWTRACE_KEEP_KAFKA_DIR) for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** Copies the broker's jars once per process (a no-op when the cache is current); resolves to the lib dir. */
export function ensureKafkaJars(): Promise<string> {
  if (!libDir) {
    libDir = runBuildScript(KAFKA_BUILD_SCRIPT, '', KAFKA_BUILD_TIMEOUT_MS);
    libDir.catch(() => (libDir = undefined));
  }
  return libDir;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

const LOG4J2 = `<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by test/helpers/kafka.ts: broker INFO to stdout (the test's log file), chatty loggers at WARN. -->
<Configuration status="WARN">
  <Appenders>
    <Console name="out" target="SYSTEM_OUT"><PatternLayout pattern="[%d] %p %m (%c)%n"/></Console>
  </Appenders>
  <Loggers>
    <Logger name="kafka.log" level="warn"/>
    <Logger name="org.apache.kafka.storage" level="warn"/>
    <Logger name="org.apache.kafka.clients" level="warn"/>
    <Logger name="org.apache.kafka.common.utils.AppInfoParser" level="warn"/>
    <Logger name="org.apache.kafka.common.config.AbstractConfig" level="warn"/>
    <Root level="info"><AppenderRef ref="out"/></Root>
  </Loggers>
</Configuration>
`;

/** Credentials go into .properties / JAAS / --add-scram text unquoted-safe: keep them to characters none of those treat specially. */
const SAFE_CREDENTIAL = /^[A-Za-z0-9._-]+$/;

/** A .properties value on one line: Java's Properties turns `\n` back into a newline (PEM needs its line breaks). */
const propertyValue = (text: string) => text.trim().replace(/\\/g, '\\\\').replace(/\r?\n/g, '\\n');

interface Secured {
  port: number;
  protocol: 'SASL_SSL' | 'SASL_PLAINTEXT' | 'SSL';
  security: KafkaSecurityOptions;
}

/** The SECURED listener's settings (listener-prefixed, so the PLAINTEXT and CONTROLLER listeners are untouched). */
function securedListenerProperties({ security }: Secured): string {
  const lines: string[] = [];
  const prefix = 'listener.name.secured';
  if (security.sasl) {
    const { mechanisms, users } = security.sasl;
    lines.push(`${prefix}.sasl.enabled.mechanisms=${mechanisms.join(',')}`);
    if (mechanisms.includes('PLAIN')) {
      const entries = Object.entries(users).map(([name, pw]) => ` user_${name}="${pw}"`).join('');
      lines.push(`${prefix}.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required${entries};`);
    }
    // SCRAM users live in the metadata log (StorageTool format --add-scram); the module only has to be named.
    for (const m of mechanisms.filter((x) => x.startsWith('SCRAM-'))) {
      lines.push(`${prefix}.${m.toLowerCase()}.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;`);
    }
  }
  if (security.tls) {
    // PEM inline (KIP-651): no keystore file, no keytool. An unencrypted PKCS#8 key wants no ssl.key.password.
    lines.push(`${prefix}.ssl.keystore.type=PEM`);
    lines.push(`${prefix}.ssl.keystore.certificate.chain=${propertyValue(security.tls.certPem)}`);
    lines.push(`${prefix}.ssl.keystore.key=${propertyValue(security.tls.keyPem)}`);
    lines.push(`${prefix}.ssl.truststore.type=PEM`);
    lines.push(`${prefix}.ssl.truststore.certificates=${propertyValue(security.tls.caPem)}`);
    lines.push(`${prefix}.ssl.client.auth=none`);
  }
  return lines.join('\n') + '\n';
}

function serverProperties(o: { port: number; controllerPort: number; dataDir: string; partitions: number; secured?: Secured }): string {
  const secured = o.secured;
  const listeners = secured ? `,SECURED://127.0.0.1:${secured.port}` : '';
  return `# Written by test/helpers/kafka.ts: one KRaft node, broker and controller, loopback only.
process.roles=broker,controller
node.id=1
listeners=PLAINTEXT://127.0.0.1:${o.port}${listeners},CONTROLLER://127.0.0.1:${o.controllerPort}
advertised.listeners=PLAINTEXT://127.0.0.1:${o.port}${listeners}
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT${secured ? `,SECURED:${secured.protocol}` : ''}
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
controller.quorum.voters=1@127.0.0.1:${o.controllerPort}
log.dirs=${o.dataDir}
num.partitions=${o.partitions}
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
min.insync.replicas=1
group.initial.rebalance.delay.ms=0
# Tests create their topics; a typo'd topic name should not appear silently.
auto.create.topics.enable=false
${secured ? securedListenerProperties(secured) : ''}`;
}

/** Java options: a small heap (the machine has 2 cores, other tests run beside), logs to our config. */
function javaArgs(lib: string, dir: string, mainClass: string, args: string[], heapMb = 512): string[] {
  return [
    `-Xmx${heapMb}m`,
    `-Xms${Math.min(heapMb, 256)}m`,
    '-XX:+UseSerialGC',
    '-XX:TieredStopAtLevel=1',
    `-Dlog4j2.configurationFile=${join(dir, 'log4j2.xml')}`,
    '-Djava.awt.headless=true',
    '-cp',
    `${lib}/*`,
    mainClass,
    ...args,
  ];
}

/**
 * Starts a broker with `partitions` as the default partition count (auto-created internal topics
 * aside, topics are made with createTopic). Resolves once it answers metadata requests.
 */
export async function startKafka(options: { partitions?: number; heapMb?: number } & KafkaSecurityOptions = {}): Promise<RunningKafka> {
  const security: KafkaSecurityOptions = { sasl: options.sasl, tls: options.tls };
  if (security.sasl) {
    if (security.sasl.mechanisms.length === 0) throw new Error('startKafka: sasl.mechanisms is empty');
    for (const [name, pw] of Object.entries(security.sasl.users)) {
      if (!SAFE_CREDENTIAL.test(name) || !SAFE_CREDENTIAL.test(pw)) throw new Error(`startKafka: sasl user ${JSON.stringify(name)}: name and password may hold only letters, digits, . _ -`);
    }
  }
  const lib = await ensureKafkaJars();
  const dir = mkdtempSync(join(tmpdir(), 'flowtrace-kafka-'));
  tempDirs.add(dir);
  const [port, controllerPort] = [await freePort(), await freePort()];
  let secured: Secured | undefined;
  if (security.sasl || security.tls) {
    const protocol = security.sasl ? (security.tls ? 'SASL_SSL' : 'SASL_PLAINTEXT') : 'SSL';
    secured = { port: await freePort(), protocol, security };
  }
  const configFile = join(dir, 'server.properties');
  const logFile = join(dir, 'kafka.log');
  writeFileSync(join(dir, 'log4j2.xml'), LOG4J2);
  writeFileSync(configFile, serverProperties({ port, controllerPort, dataDir: join(dir, 'data'), partitions: options.partitions ?? 1, secured }), { mode: 0o600 });

  let proc: LoggedProcess | undefined;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (proc && proc.child.exitCode === null && proc.child.signalCode === null) {
      proc.child.kill('SIGTERM');
      const timer = setTimeout(() => proc!.child.kill('SIGKILL'), 15_000);
      try {
        await proc.exited;
      } finally {
        clearTimeout(timer);
      }
    }
    if (!process.env.FLOWTRACE_KEEP_KAFKA_DIR) rmSync(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
  };

  const java = (mainClass: string, args: string[], timeoutMs: number) =>
    runCommand('java', javaArgs(lib, dir, mainClass, args, 256), { timeoutMs });

  try {
    // What `StorageTool random-uuid` prints (Kafka's Uuid: 16 random bytes, base64url), without a JVM start.
    // Passed as --cluster-id=ID: an ID that starts with '-' would read as an option.
    const clusterId = randomBytes(16).toString('base64url');
    // SCRAM credentials are records in the metadata log: written at format time, before the broker runs.
    const scram = Object.entries(security.sasl?.users ?? {}).flatMap(([name, pw]) =>
      (security.sasl?.mechanisms ?? []).filter((m) => m.startsWith('SCRAM-')).map((m) => `--add-scram=${m}=[name=${name},password=${pw}]`),
    );
    const format = await java('kafka.tools.StorageTool', ['format', `--cluster-id=${clusterId}`, '-c', configFile, ...scram], 60_000);
    if (format.code !== 0) throw new Error(`kafka StorageTool format failed (exit ${format.code}):\n${tail(format.stderr + format.stdout, 30)}`);

    proc = launchLogged('java', javaArgs(lib, dir, 'kafka.Kafka', [configFile], options.heapMb ?? 512), logFile, running);
    let exitCode: number | null | undefined;
    void proc.exited.then((c) => (exitCode = c));
    // Bounded: the port opens, then the broker logs that it has started (metadata is served).
    const deadline = Date.now() + 90_000;
    for (;;) {
      if (exitCode !== undefined) throw new Error(`kafka exited (${exitCode}) before it was ready:\n${tail(readLog(logFile), 40)}`);
      if ((await tcpOpen(port, 500)) && /Kafka Server started/.test(readLog(logFile))) break;
      if (Date.now() > deadline) throw new Error(`kafka not ready after 90 s:\n${tail(readLog(logFile), 40)}`);
      await sleep(200);
    }
  } catch (err) {
    await stop();
    throw err;
  }

  const brokers = `127.0.0.1:${port}`;
  return {
    brokers,
    port,
    ...(secured ? { securedBrokers: `127.0.0.1:${secured.port}`, securedPort: secured.port, securedProtocol: secured.protocol } : {}),
    pid: proc!.child.pid!,
    logFile,
    get running() {
      return proc !== undefined && proc.child.exitCode === null && proc.child.signalCode === null;
    },
    async createTopic(name: string, partitions: number): Promise<void> {
      // The client's Admin API: a TopicCommand JVM would take ~3 s per topic.
      const admin = new Admin({ clientId: 'flowtrace-test-admin', bootstrapBrokers: [brokers] });
      try {
        await admin.createTopics({ topics: [name], partitions, replicas: 1 });
        const deadline = Date.now() + 30_000;
        for (;;) {
          const metadata = await admin.metadata({ topics: [name], forceUpdate: true });
          const topic = metadata.topics.get(name);
          if (topic && topic.partitionsCount === partitions && topic.partitions.every((p) => p.leader >= 0)) return;
          if (Date.now() > deadline) throw new Error(`kafka topic ${name}: no leader for all ${partitions} partitions after 30 s`);
          await sleep(100);
        }
      } finally {
        await admin.close();
      }
    },
    stop,
  };
}
