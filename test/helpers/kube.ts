/**
 * A real Kubernetes API server for tests: etcd v3.7.3 + kube-apiserver v1.37.2 (built by
 * test/tools/build.sh), on free 127.0.0.1 ports, and kubectl v1.37.2 pointed at it.
 *
 * Control plane only: no controller manager, scheduler or kubelet runs, so objects are stored
 * and validated (admission, defaulting, schema, `--dry-run=server`) but nothing is reconciled:
 * a Deployment gets no ReplicaSet, no Pod is ever scheduled. The 10.96.0.0/24 service range is
 * only an allocation range (the `kubernetes` Service gets 10.96.0.1): nothing sends traffic there.
 *
 * Security: certificates and keys are generated per start into a private temp dir (openssl for
 * the X.509 CA and serving certificate, node:crypto for the service-account key pair); the
 * API server accepts only one random bearer token (user `admin` in `system:masters`), with
 * anonymous auth off. etcd speaks plain HTTP, but only on 127.0.0.1, to this API server.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './peers.js';
import { launchLogged, type LoggedProcess } from './process.js';
import { ensureTool, TOOL_BUILD_TIMEOUT_MS } from './tools.js';

/** For a beforeAll hook that calls startKubeApiServer(): up to three cold builds plus a start. */
export const KUBE_HOOK_TIMEOUT_MS = 3 * TOOL_BUILD_TIMEOUT_MS + 3 * 60_000;

export interface KubectlResult {
  stdout: string;
  stderr: string;
  code: number | null;
}

export interface RunningKubeApiServer {
  /** Path of a kubeconfig (context `flowtrace-test`, user `admin`) for this API server. */
  kubeconfig: string;
  /** `https://127.0.0.1:PORT`. */
  server: string;
  /** Absolute path of the kubectl binary (same release as the server). */
  kubectlBin: string;
  /** Combined stdout/stderr logs of the two processes. */
  apiServerLog: string;
  etcdLog: string;
  /** Runs `kubectl --kubeconfig=… ARGS` (stdin = `input`); resolves to stdout, throws on a non-zero exit. */
  kubectl(args: string[], input?: string): Promise<string>;
  /** Same, but resolves to the exit code and both outputs whatever the exit code. */
  kubectlResult(args: string[], input?: string): Promise<KubectlResult>;
  /** Stops kube-apiserver, then etcd (SIGTERM, SIGKILL after 10 s, by pid) and removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// processes

interface Proc extends LoggedProcess {
  name: string;
}

const running = new Set<ChildProcess>();

function launch(name: string, bin: string, args: string[], logFile: string): Proc {
  return { name, ...launchLogged(bin, args, logFile, running) };
}

/** SIGTERM to the pid, wait up to `graceMs`, then SIGKILL. */
async function terminate(p: Proc, graceMs = 10_000): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null || p.child.pid === undefined) return;
  const pid = p.child.pid;
  const kill = (sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  };
  kill('SIGTERM');
  const timer = setTimeout(() => kill('SIGKILL'), graceMs);
  try {
    await p.exited;
  } finally {
    clearTimeout(timer);
  }
}

function tailOf(file: string, lines = 40): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until true; fails early if the process exits, or after `timeoutMs`. */
async function waitReady(p: Proc, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | null | undefined;
  void p.exited.then((c) => (exitCode = c));
  for (;;) {
    if (exitCode !== undefined) throw new Error(`${p.name} exited (${exitCode}) before it was ready:\n${tailOf(p.logFile)}`);
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${p.name} not ready after ${timeoutMs / 1000} s:\n${tailOf(p.logFile)}`);
    await sleep(250);
  }
}

// ---------------------------------------------------------------------------------------------
// certificates

const OPENSSL_CNF = `[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc
authorityKeyIdentifier = keyid
`;

/** A throwaway CA and a serving certificate for 127.0.0.1 signed by it (P-256, valid 2 days). */
function makeServingCert(dir: string): { ca: string; cert: string; key: string } {
  const cnf = join(dir, 'openssl.cnf');
  writeFileSync(cnf, OPENSSL_CNF);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  openssl(['req', '-x509', '-config', cnf, '-extensions', 'ca', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=flowtrace-test-ca']);
  openssl(['req', '-new', '-config', cnf, ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=kube-apiserver']);
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', cnf, '-extensions', 'server', '-out', 'server.crt']);
  return { ca: join(dir, 'ca.crt'), cert: join(dir, 'server.crt'), key: join(dir, 'server.key') };
}

/** The key pair kube-apiserver signs and verifies service-account tokens with. */
function makeServiceAccountKeys(dir: string): { pub: string; key: string } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const pub = join(dir, 'sa.pub');
  const key = join(dir, 'sa.key');
  writeFileSync(pub, publicKey);
  writeFileSync(key, privateKey, { mode: 0o600 });
  return { pub, key };
}

// ---------------------------------------------------------------------------------------------

/** GET `url` over TLS trusting only `ca`; true on HTTP 200. */
function httpsOk(url: string, ca: string, token: string): Promise<boolean> {
  return new Promise((res, rej) => {
    const req = request(url, { ca, headers: { authorization: `Bearer ${token}` }, timeout: 2000 }, (r) => {
      r.resume();
      r.once('end', () => res(r.statusCode === 200));
    });
    req.once('timeout', () => req.destroy(new Error('timeout')));
    req.once('error', rej);
    req.end();
  });
}

async function httpOk(url: string): Promise<boolean> {
  const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
  await r.arrayBuffer();
  return r.ok;
}

function runKubectl(bin: string, kubeconfig: string, args: string[], input: string | undefined, timeoutMs = 60_000): Promise<KubectlResult> {
  return new Promise((res, rej) => {
    const child = spawn(bin, [`--kubeconfig=${kubeconfig}`, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      // No ~/.kube/cache, no ~/.kube/kuberc from the machine: only our kubeconfig counts.
      env: { ...process.env, KUBECONFIG: kubeconfig, KUBECACHEDIR: join(kubeconfig, '..', 'kube-cache'), KUBERC: 'off' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      rej(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      res({ stdout, stderr, code });
    });
    // kubectl may exit without reading its stdin (e.g. a bad flag): no EPIPE crash then.
    child.stdin!.on('error', () => {});
    child.stdin!.end(input ?? '');
  });
}

/**
 * Builds (first time: many minutes) and starts etcd and kube-apiserver, writes a kubeconfig and
 * creates the `default` ServiceAccount in `default` (a controller would, and none runs).
 */
export async function startKubeApiServer(): Promise<RunningKubeApiServer> {
  // One after the other: the machine has 2 cores, and the two k8s builds share most packages.
  const etcdBin = await ensureTool('etcd');
  const apiServerBin = await ensureTool('kube-apiserver');
  const kubectlBin = await ensureTool('kubectl');

  const dir = mkdtempSync(join(tmpdir(), 'ft-kube-'));
  const procs: Proc[] = [];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // API server first, so that it does not spend its grace period retrying a dead etcd.
    for (const p of [...procs].reverse()) await terminate(p);
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const etcdPort = await freePort();
    const etcdPeerPort = await freePort();
    const port = await freePort();
    const server = `https://127.0.0.1:${port}`;
    const tls = makeServingCert(dir);
    const sa = makeServiceAccountKeys(dir);
    const token = randomBytes(32).toString('hex');
    const tokenFile = join(dir, 'tokens.csv');
    writeFileSync(tokenFile, `${token},admin,admin,system:masters\n`, { mode: 0o600 });

    // etcd: a single member, loopback only, no fsync (test data, faster on a shared disk).
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const etcdPeerUrl = `http://127.0.0.1:${etcdPeerPort}`;
    const etcd = launch(
      'etcd',
      etcdBin,
      [
        '--name=flowtrace-test',
        `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${etcdPeerUrl}`,
        `--initial-advertise-peer-urls=${etcdPeerUrl}`,
        `--initial-cluster=flowtrace-test=${etcdPeerUrl}`,
        '--unsafe-no-fsync',
        '--log-level=warn',
      ],
      join(dir, 'etcd.log'),
    );
    procs.push(etcd);
    await waitReady(etcd, () => httpOk(`${etcdUrl}/health`), 60_000);

    mkdirSync(join(dir, 'cert-dir'));
    const apiServer = launch(
      'kube-apiserver',
      apiServerBin,
      [
        `--etcd-servers=${etcdUrl}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${port}`,
        `--tls-cert-file=${tls.cert}`,
        `--tls-private-key-file=${tls.key}`,
        // Unused (the files above are given), but keeps it from touching /var/run/kubernetes.
        `--cert-dir=${join(dir, 'cert-dir')}`,
        `--token-auth-file=${tokenFile}`,
        '--anonymous-auth=false',
        '--authorization-mode=AlwaysAllow',
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${sa.pub}`,
        `--service-account-signing-key-file=${sa.key}`,
        '--service-cluster-ip-range=10.96.0.0/24',
        // No kubelets: do not publish 127.0.0.1 as the endpoints of the `kubernetes` Service.
        '--endpoint-reconciler-type=none',
        '--profiling=false',
      ],
      join(dir, 'kube-apiserver.log'),
    );
    procs.push(apiServer);
    const ca = readFileSync(tls.ca, 'utf8');
    await waitReady(apiServer, () => httpsOk(`${server}/readyz`, ca, token), 120_000);

    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      `apiVersion: v1
kind: Config
clusters:
- name: flowtrace-test
  cluster:
    server: ${server}
    certificate-authority-data: ${Buffer.from(ca).toString('base64')}
users:
- name: admin
  user:
    token: ${token}
contexts:
- name: flowtrace-test
  context:
    cluster: flowtrace-test
    user: admin
    namespace: default
current-context: flowtrace-test
`,
      { mode: 0o600 },
    );

    const kubectlResult = (args: string[], input?: string) => runKubectl(kubectlBin, kubeconfig, args, input);
    const kubectl = async (args: string[], input?: string) => {
      const r = await kubectlResult(args, input);
      if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}:\n${r.stderr}${r.stdout}`);
      return r.stdout;
    };

    // /readyz can be green a moment before the API server's own controller has created the
    // `default` namespace: retry for a bounded time.
    const saManifest = 'apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: default\n  namespace: default\n';
    const deadline = Date.now() + 30_000;
    for (;;) {
      const r = await kubectlResult(['apply', '-f', '-'], saManifest);
      if (r.code === 0) break;
      if (Date.now() > deadline) throw new Error(`creating the default ServiceAccount failed:\n${r.stderr}\n${tailOf(apiServer.logFile)}`);
      await sleep(500);
    }

    return {
      kubeconfig,
      server,
      kubectlBin,
      apiServerLog: apiServer.logFile,
      etcdLog: etcd.logFile,
      kubectl,
      kubectlResult,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

// Last resort if a test file forgets stop(): no etcd or API server outlives the test process.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});
