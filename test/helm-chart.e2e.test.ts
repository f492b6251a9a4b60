/**
 * The Helm chart (helm/flowtrace) against the real tools and a real API server: `helm lint
 * --strict`, what `helm template` renders (workload kind per mode, port names, probes, security
 * context, nothing release- or namespace-specific hard-coded), a server-side dry run of every
 * rendered object (Istio's CRDs installed from `istioctl manifest generate` first), a real
 * `helm install`, and `istioctl validate` / `istioctl analyze` on the Istio resources. Linkerd is
 * annotations only (its CRDs cannot be had here: helm/flowtrace/linkerd/README.md).
 *
 * No kubelet runs (test/helpers/kube.ts), so nothing is scheduled: `helm install` runs without
 * --wait, and the `helm test` Pod is checked with a server-side dry run instead of being run
 * (its script is run against a real collector by test/helm-test-script.e2e.test.ts).
 *
 * Part of `npm test`; the first run builds helm, istioctl, etcd, kube-apiserver and kubectl
 * (test/tools/build.sh, ~8.5 min cold on 2 cores, then cached):
 *
 *   npx vitest run test/helm-chart.e2e.test.ts
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { KUBE_HOOK_TIMEOUT_MS, startKubeApiServer, type RunningKubeApiServer } from './helpers/kube.js';
import { ensureTool } from './helpers/tools.js';

const CHART = resolve(import.meta.dirname, '../helm/flowtrace');
const CI_VALUES = readdirSync(join(CHART, 'ci'))
  .filter((f) => f.endsWith('-values.yaml'))
  .sort()
  .map((f) => join(CHART, 'ci', f));

/** The three value sets the chart is rendered, dry-run and analysed with. */
const VALUE_SETS: Record<string, string[]> = {
  default: [],
  clickhouse: ['--set', 'clickhouse.url=http://ch:8123'],
  istio: ['--set', 'istio.enabled=true'],
  linkerd: ['--set', 'linkerd.enabled=true'],
};

/** The ha preset (three tiers by role), with each transport. */
const HA_SETS: Record<string, string[]> = {
  'ha-kafka': ['-f', join(CHART, 'ci/ha-values.yaml')],
  'ha-loadbalancing': ['-f', join(CHART, 'ci/ha-loadbalancing-values.yaml')],
};
const HA_ROLES = ['ingest', 'process', 'query'] as const;

/** Dry-run: the three value sets, and every ci/*-values.yaml (everything-values.yaml turns on each optional part). */
const DRY_RUN_SETS: Record<string, string[]> = {
  ...VALUE_SETS,
  ...Object.fromEntries(CI_VALUES.map((f) => [`ci/${basename(f)}`, ['-f', f]])),
};

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: any; // manifests are checked field by field, against what the chart renders
  data?: Record<string, string>;
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `bin args` (stdin = `input`), bounded by `timeoutMs`; resolves whatever the exit code. */
function run(bin: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((res, rej) => {
    const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      rej(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      res({ code, stdout, stderr });
    });
    child.stdin!.on('error', () => {});
    child.stdin!.end(opts.input ?? '');
  });
}

function ok(what: string, r: RunResult): string {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** YAML 1.1, as Helm and Kubernetes read manifests: `defaultMode: 0400` is octal (1.2 would read 400). */
function parseManifests(text: string): K8sObject[] {
  return parseAllDocuments(text, { version: '1.1' })
    .map((d) => {
      if (d.errors.length > 0) throw new Error(`bad YAML: ${d.errors[0]!.message}`);
      return d.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null && typeof o === 'object');
}

function only(objects: K8sObject[], kind: string, name?: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? `/${name}` : ''}, found ${found.length}: ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found[0]!;
}

const isTestHook = (o: K8sObject) => o.metadata.annotations?.['helm.sh/hook'] === 'test';

describe('Helm chart helm/flowtrace (helm, kube-apiserver, istioctl)', () => {
  let helmBin: string;
  let istioctlBin: string;
  let serviceMonitorCrd: string;
  let kube: RunningKubeApiServer;
  let home: string;
  let helmEnv: NodeJS.ProcessEnv;

  const helm = (args: string[], input?: string) => run(helmBin, args, { input, env: helmEnv });
  const template = async (release: string, namespace: string, values: string[]) =>
    parseManifests(ok('helm template', await helm(['template', release, CHART, '--namespace', namespace, ...values])));
  const istioctl = (args: string[], input?: string) => run(istioctlBin, args, { input, env: helmEnv });

  beforeAll(async () => {
    // One after the other (2 cores): the API server's three tools first, then ours.
    kube = await startKubeApiServer();
    helmBin = await ensureTool('helm');
    istioctlBin = await ensureTool('istioctl');
    serviceMonitorCrd = await ensureTool('servicemonitor-crd');
    // Helm's and istioctl's caches, config and kubeconfig: private to this run, never ~/.
    home = mkdtempSync(join(tmpdir(), 'ft-helm-'));
    helmEnv = {
      HOME: home,
      HELM_CACHE_HOME: join(home, 'cache'),
      HELM_CONFIG_HOME: join(home, 'config'),
      HELM_DATA_HOME: join(home, 'data'),
      KUBECONFIG: kube.kubeconfig,
    };
  }, KUBE_HOOK_TIMEOUT_MS);

  afterAll(async () => {
    await kube?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('passes helm lint --strict with the defaults and with every ci/*-values.yaml', async () => {
    expect(CI_VALUES.length).toBeGreaterThanOrEqual(3);
    for (const values of [[], ...CI_VALUES.map((f) => ['-f', f])]) {
      const r = await helm(['lint', '--strict', CHART, ...values]);
      expect(r.code, `helm lint --strict ${values.join(' ')}:\n${r.stdout}${r.stderr}`).toBe(0);
      expect(r.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
    }
  });

  it('refuses secrets written into config (values.schema.json), and takes exporter credentials as ${env:NAME}', async () => {
    for (const set of ['config.storage.clickhouse.password=pw', 'config.exporters.datadog.api_key=plain-key', 'config.exporters.otlp/up.headers.authorization=Bearer abc']) {
      const r = await helm(['template', 'tracing', CHART, '--set', set]);
      expect(r.code, set).not.toBe(0);
      expect(r.stderr, set).toMatch(/values don't meet the specifications of the schema/);
    }
    const rendered = await template('tracing', 'observability', [
      '--set', 'config.exporters.datadog.api_key=${env:DD_API_KEY}',
      '--set', 'secretEnv[0].name=DD_API_KEY', '--set', 'secretEnv[0].secretName=datadog', '--set', 'secretEnv[0].key=api-key',
    ]);
    expect(only(rendered, 'ConfigMap', 'tracing-flowtrace').data!['flowtrace.yaml']).toContain('api_key: ${env:DD_API_KEY}');
    const env = only(rendered, 'StatefulSet').spec.template.spec.containers[0].env as Array<{ name: string; valueFrom?: unknown }>;
    expect(env.find((e) => e.name === 'DD_API_KEY')?.valueFrom).toEqual({ secretKeyRef: { name: 'datadog', key: 'api-key' } });
  });

  it('refuses client certificates on the API port (probes carry none), and lets the helm test pod through a NetworkPolicy', async () => {
    const r = await helm(['template', 'tracing', CHART, '--set', 'tls.api.existingSecret=api-tls', '--set', 'tls.api.clientCa=true']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/tls.api.clientCa cannot be used in Kubernetes/);

    const rendered = await template('tracing', 'observability', ['--set', 'networkPolicy.enabled=true', '--set', 'networkPolicy.apiFrom[0].podSelector.matchLabels.role=dashboard']);
    const policy = only(rendered, 'NetworkPolicy');
    const testPod = only(rendered, 'Pod');
    const admitted = (policy.spec.ingress as Array<{ from?: Array<{ podSelector?: { matchLabels: Record<string, string> } }>; ports: Array<{ port: number }> }>).filter((rule) =>
      rule.from?.some((peer) => Object.entries(peer.podSelector?.matchLabels ?? { none: '' }).every(([k, v]) => testPod.metadata.labels?.[k] === v)),
    );
    expect(admitted.flatMap((rule) => rule.ports.map((p) => p.port)).sort()).toEqual([4318, 8686]);
  });

  it('renders a StatefulSet with a data volume claim by default, and a Deployment with clickhouse.url', async () => {
    const single = await template('tracing', 'observability', VALUE_SETS.default!);
    const sts = only(single, 'StatefulSet');
    expect(single.filter((o) => o.kind === 'Deployment')).toEqual([]);
    expect(sts.spec.volumeClaimTemplates.map((c: K8sObject) => c.metadata.name)).toEqual(['data']);
    expect(sts.spec.serviceName).toBe(only(single, 'Service', 'tracing-flowtrace-headless').metadata.name);

    const ch = await template('tracing', 'observability', VALUE_SETS.clickhouse!);
    expect(ch.filter((o) => o.kind === 'StatefulSet')).toEqual([]);
    const deploy = only(ch, 'Deployment');
    // Stateless: /data (queue, journal) is a bounded emptyDir, no volume claim.
    expect(deploy.spec.volumeClaimTemplates).toBeUndefined();
    expect(deploy.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'data')).toEqual({ name: 'data', emptyDir: { sizeLimit: '2Gi' } });
    const flowtraceYaml = (only(ch.filter((o) => !isTestHook(o)), 'ConfigMap') as unknown as { data: Record<string, string> }).data['flowtrace.yaml']!;
    expect(flowtraceYaml).toContain('url: http://ch:8123');
  });

  it('names the ports grpc-otlp (appProtocol grpc), http-otlp and http-api, probes /healthz and /readyz, runs non-root on a read-only root', async () => {
    for (const [name, values] of Object.entries(VALUE_SETS)) {
      const objects = await template('tracing', 'observability', values);
      const workload = only(objects, name === 'clickhouse' ? 'Deployment' : 'StatefulSet');
      const service = only(objects, 'Service', 'tracing-flowtrace');
      const ports = Object.fromEntries(service.spec.ports.map((p: { name: string; port: number; appProtocol?: string; targetPort: string }) => [p.name, p]));
      expect(Object.keys(ports).sort(), name).toEqual(['grpc-otlp', 'http-api', 'http-otlp']);
      expect(ports['grpc-otlp']).toMatchObject({ port: 4317, targetPort: 'grpc-otlp', appProtocol: 'grpc' });
      expect(ports['http-otlp']).toMatchObject({ port: 4318, targetPort: 'http-otlp', appProtocol: 'http' });
      expect(ports['http-api']).toMatchObject({ port: 8686, targetPort: 'http-api', appProtocol: 'http' });

      const pod = workload.spec.template.spec;
      const container = only(pod.containers.map((c: { name: string }) => ({ kind: 'Container', metadata: { name: c.name }, spec: c })), 'Container', 'collector').spec;
      expect(container.ports.map((p: { name: string }) => p.name).sort()).toEqual(['grpc-otlp', 'http-api', 'http-otlp']);
      expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http-api' });
      expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http-api' });
      expect(pod.securityContext.runAsNonRoot).toBe(true);
      expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    }
  });

  it('renders the Istio resources only with istio.enabled=true, and labels the pods for injection', async () => {
    const plain = await template('tracing', 'observability', VALUE_SETS.default!);
    expect(plain.filter((o) => o.apiVersion.includes('istio.io'))).toEqual([]);

    const mesh = await template('tracing', 'observability', VALUE_SETS.istio!);
    expect(only(mesh, 'PeerAuthentication').spec.mtls.mode).toBe('STRICT');
    expect(only(mesh, 'DestinationRule').spec).toMatchObject({ host: 'tracing-flowtrace.observability.svc.cluster.local', trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' } } });
    expect(mesh.filter((o) => o.kind === 'Telemetry').length).toBe(2);
    expect(only(mesh, 'StatefulSet').spec.template.metadata.labels['sidecar.istio.io/inject']).toBe('true');
  });

  it('meshes every collector pod and the test pod with Linkerd only with linkerd.enabled=true, refuses two meshes, and prints the control-plane values', async () => {
    const podAnnotations = (objects: K8sObject[]) =>
      objects.filter((o) => o.kind === 'StatefulSet' || o.kind === 'Deployment').map((o) => o.spec.template.metadata.annotations as Record<string, string>);
    const plain = await template('tracing', 'observability', VALUE_SETS.default!);
    expect(JSON.stringify(plain)).not.toContain('linkerd.io');

    const meshed = await template('tracing', 'observability', ['-f', join(CHART, 'ci/linkerd-values.yaml')]);
    for (const annotations of podAnnotations(meshed)) {
      expect(annotations).toMatchObject({ 'linkerd.io/inject': 'enabled', 'config.linkerd.io/default-inbound-policy': 'all-authenticated' });
    }
    expect(only(meshed, 'Pod').metadata.annotations).toMatchObject({ 'linkerd.io/inject': 'enabled', 'config.linkerd.io/proxy-enable-native-sidecar': 'true' });
    // The mesh's own default policy unless one is asked for; nothing of Istio's.
    expect(podAnnotations(await template('tracing', 'observability', VALUE_SETS.linkerd!))[0]).not.toHaveProperty('config.linkerd.io/default-inbound-policy');
    expect(meshed.filter((o) => o.apiVersion.includes('istio.io') || o.apiVersion.includes('linkerd.io'))).toEqual([]);

    // Every tier of the ha preset is meshed.
    const ha = await template('tracing', 'observability', [...HA_SETS['ha-kafka']!, '--set', 'linkerd.enabled=true']);
    const tiers = podAnnotations(ha);
    expect(tiers).toHaveLength(3);
    for (const annotations of tiers) expect(annotations['linkerd.io/inject']).toBe('enabled');

    const both = await helm(['template', 'tracing', CHART, '--set', 'istio.enabled=true', '--set', 'linkerd.enabled=true']);
    expect(both.code).not.toBe(0);
    expect(both.stderr).toContain('istio.enabled and linkerd.enabled: a pod joins one mesh');
    const badPolicy = await helm(['template', 'tracing', CHART, '--set', 'linkerd.enabled=true', '--set', 'linkerd.defaultInboundPolicy=everyone']);
    expect(badPolicy.code).not.toBe(0);
    expect(badPolicy.stderr).toMatch(/values don't meet the specifications of the schema/);

    // The notes print the values for Linkerd's control-plane chart, with this release's Service
    // and ServiceAccount: the same document as linkerd/control-plane-values.yaml (written for the
    // release `tracing` in `observability`).
    const dryRun = ok('helm install --dry-run', await helm(['install', 'tracing', CHART, '--namespace', 'observability', '--dry-run=client', '--set', 'linkerd.enabled=true']));
    const notes = dryRun.slice(dryRun.indexOf('NOTES:'));
    const printed = notes.slice(notes.indexOf('     proxy:')).split('\n').filter((l) => l.startsWith('     ')).map((l) => l.slice(5)).join('\n');
    const documented = parseYaml(readFileSync(join(CHART, 'linkerd/control-plane-values.yaml'), 'utf8')) as unknown;
    expect(parseYaml(printed)).toEqual(documented);
    expect(documented).toEqual({
      proxy: { tracing: { enabled: true, collector: { endpoint: 'tracing-flowtrace.observability.svc.cluster.local:4317', meshIdentity: { serviceAccountName: 'tracing-flowtrace', namespace: 'observability' } } } },
    });
  });

  describe('the ha preset (ha.enabled: ingest, process and query tiers)', () => {
    interface Container {
      name: string;
      args: string[];
      env: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }>;
      ports: Array<{ name: string; containerPort: number }>;
      livenessProbe: { httpGet: unknown };
      readinessProbe: { httpGet: unknown };
    }
    /** The parts of a tier's collector config these cases read. */
    interface RenderedConfig {
      role?: string;
      exporters?: Record<string, Record<string, unknown>>;
      receivers: { kafka?: Record<string, unknown> };
      storage: { clickhouse: { url: string } };
    }
    const collectorOf = (workload: K8sObject): Container => {
      const containers = workload.spec.template.spec.containers as Container[];
      expect(containers.map((c) => c.name)).toEqual(['collector']);
      return containers[0]!;
    };
    /** The collector config a workload's pod mounts, parsed. */
    const configOf = (objects: K8sObject[], workload: K8sObject): RenderedConfig => {
      const volume = (workload.spec.template.spec.volumes as Array<{ name: string; configMap?: { name: string } }>).find((v) => v.name === 'config');
      return parseYaml(only(objects, 'ConfigMap', volume!.configMap!.name).data!['flowtrace.yaml']!) as RenderedConfig;
    };
    const names = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind).map((o) => o.metadata.name).sort();
    const podsOf = (selector: Record<string, string>, workloads: K8sObject[]) =>
      workloads.filter((w) => Object.entries(selector).every(([k, v]) => w.spec.template.metadata.labels[k] === v)).map((w) => w.metadata.name);

    it('renders exactly an ingest Deployment + HPA, a process StatefulSet + headless Service, a query Deployment + Service, each running its role', async () => {
      const objects = (await template('tracing', 'observability', HA_SETS['ha-kafka']!)).filter((o) => !isTestHook(o));
      expect(names(objects, 'Deployment')).toEqual(['tracing-flowtrace-ingest', 'tracing-flowtrace-query']);
      expect(names(objects, 'StatefulSet')).toEqual(['tracing-flowtrace-process']);
      expect(names(objects, 'Service')).toEqual(['tracing-flowtrace-ingest', 'tracing-flowtrace-process-headless', 'tracing-flowtrace-query']);
      expect(names(objects, 'ConfigMap')).toEqual(['tracing-flowtrace-ingest', 'tracing-flowtrace-process', 'tracing-flowtrace-query']);
      expect(names(objects, 'PodDisruptionBudget')).toEqual(['tracing-flowtrace-ingest', 'tracing-flowtrace-process', 'tracing-flowtrace-query']);
      expect(names(objects, 'NetworkPolicy')).toEqual(['tracing-flowtrace-ingest', 'tracing-flowtrace-process', 'tracing-flowtrace-query']);

      const hpa = only(objects, 'HorizontalPodAutoscaler');
      expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'tracing-flowtrace-ingest' });
      expect(only(objects, 'Deployment', 'tracing-flowtrace-ingest').spec.replicas).toBeUndefined(); // the HPA's

      const sts = only(objects, 'StatefulSet');
      const headless = only(objects, 'Service', 'tracing-flowtrace-process-headless');
      expect(sts.spec.serviceName).toBe(headless.metadata.name);
      expect(headless.spec.clusterIP).toBe('None');
      expect(sts.spec.replicas).toBe(3);
      expect(sts.spec.volumeClaimTemplates.map((c: K8sObject) => [c.metadata.name, c.spec.resources.requests.storage])).toEqual([['data', '5Gi']]);
      // /data is the claim, not an emptyDir.
      expect(sts.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'data')).toBeUndefined();

      const workloads = objects.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet');
      for (const role of HA_ROLES) {
        const workload = only(workloads, role === 'process' ? 'StatefulSet' : 'Deployment', `tracing-flowtrace-${role}`);
        const container = collectorOf(workload);
        expect(container.args.slice(-2), role).toEqual(['--role', role]);
        expect(container.env.find((e) => e.name === 'FLOWTRACE_ROLE'), role).toEqual({ name: 'FLOWTRACE_ROLE', value: role });
        expect(configOf(objects, workload).role, role).toBe(role);
        expect(container.livenessProbe.httpGet, role).toEqual({ path: '/healthz', port: 'http-api' });
        expect(container.readinessProbe.httpGet, role).toEqual({ path: '/readyz', port: 'http-api' });
        // Each tier's selector picks its own pods only (the Services' too).
        expect(podsOf(workload.spec.selector.matchLabels, workloads), role).toEqual([workload.metadata.name]);
        const service = only(objects, 'Service', role === 'process' ? 'tracing-flowtrace-process-headless' : `tracing-flowtrace-${role}`);
        expect(podsOf(service.spec.selector, workloads), role).toEqual([workload.metadata.name]);
      }
      // Port names for Istio's protocol detection: OTLP on ingest (and process), only the API on query.
      const portNames = (name: string) => only(objects, 'Service', name).spec.ports.map((p: { name: string }) => p.name).sort();
      expect(portNames('tracing-flowtrace-ingest')).toEqual(['grpc-otlp', 'http-api', 'http-otlp']);
      expect(portNames('tracing-flowtrace-query')).toEqual(['http-api']);
      expect(only(objects, 'Service', 'tracing-flowtrace-ingest').spec.ports.find((p: { name: string }) => p.name === 'grpc-otlp').appProtocol).toBe('grpc');
      expect(only(objects, 'Ingress').spec.rules[0].http.paths[0].backend.service).toEqual({ name: 'tracing-flowtrace-query', port: { name: 'http-api' } });
    });

    it('wires the kafka transport: exporters.kafka on ingest, receivers.kafka (enabled) on process, SASL from the Secret as ${env:NAME}', async () => {
      const objects = (await template('tracing', 'observability', HA_SETS['ha-kafka']!)).filter((o) => !isTestHook(o));
      const ingest = only(objects, 'Deployment', 'tracing-flowtrace-ingest');
      const process = only(objects, 'StatefulSet', 'tracing-flowtrace-process');
      const query = only(objects, 'Deployment', 'tracing-flowtrace-query');
      const brokers = ['kafka-0.kafka.data.svc:9093', 'kafka-1.kafka.data.svc:9093'];
      const sasl = { mechanism: 'scram-sha-512', username: '${env:KAFKA_SASL_USERNAME}', password: '${env:KAFKA_SASL_PASSWORD}' };

      const ingestConfig = configOf(objects, ingest);
      expect(Object.keys(ingestConfig.exporters ?? {})).toEqual(['kafka']);
      expect(ingestConfig.exporters?.kafka).toMatchObject({ brokers, topic: 'otlp_spans', compression: 'lz4', tls: { enabled: true, ca_file: '/etc/flowtrace/kafka-tls/ca.crt' }, sasl });
      expect(ingestConfig.receivers.kafka).toBeUndefined();

      const processConfig = configOf(objects, process);
      expect(processConfig.receivers.kafka).toMatchObject({ enabled: true, brokers, topic: 'otlp_spans', group_id: 'flowtrace-process', sasl });
      expect(processConfig.storage.clickhouse.url).toBe('http://clickhouse.example.internal:8123');

      const queryConfig = configOf(objects, query);
      expect(queryConfig.receivers.kafka).toBeUndefined();
      expect(queryConfig.exporters).toBeUndefined();

      // The credentials come from Secrets: no password in any ConfigMap, env and mounts only where Kafka is used.
      for (const workload of [ingest, process]) {
        const env = collectorOf(workload).env;
        expect(env.find((e) => e.name === 'KAFKA_SASL_PASSWORD')?.valueFrom).toEqual({ secretKeyRef: { name: 'flowtrace-kafka-sasl', key: 'password' } });
        // (defaultMode 0400 is octal to Kubernetes' YAML 1.1, decimal 400 to the yaml package's 1.2: not compared.)
        expect(workload.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'kafka-tls')).toMatchObject({ name: 'kafka-tls', secret: { secretName: 'flowtrace-kafka-tls' } });
        expect(collectorOf(workload).env.find((e) => e.name === 'KAFKA_SASL_USERNAME')?.valueFrom).toEqual({ secretKeyRef: { name: 'flowtrace-kafka-sasl', key: 'username' } });
      }
      expect(collectorOf(query).env.map((e) => e.name)).not.toContain('KAFKA_SASL_PASSWORD');
      expect(collectorOf(query).ports.map((p) => p.name)).toEqual(['http-api']);
    });

    it("wires the loadbalancing transport: the ingest tier resolves the process tier's headless Service, which admits ingest on 4317", async () => {
      const objects = (await template('tracing', 'observability', HA_SETS['ha-loadbalancing']!)).filter((o) => !isTestHook(o));
      const headless = only(objects, 'Service', 'tracing-flowtrace-process-headless');
      const ingest = only(objects, 'Deployment', 'tracing-flowtrace-ingest');
      const process = only(objects, 'StatefulSet', 'tracing-flowtrace-process');
      expect(objects.filter((o) => o.kind === 'HorizontalPodAutoscaler')).toEqual([]);
      expect(ingest.spec.replicas).toBe(3);

      const lb = configOf(objects, ingest).exporters ?? {};
      expect(Object.keys(lb)).toEqual(['loadbalancing']);
      expect(lb.loadbalancing).toMatchObject({
        routing_key: 'traceID',
        protocol: { otlp: { protocol: 'grpc', headers: { authorization: 'Bearer ${env:FLOWTRACE_FORWARD_TOKEN}' } } },
        resolver: { dns: { hostname: `${headless.metadata.name}.observability.svc.cluster.local`, port: 4317, interval_seconds: 5 } },
      });
      expect(headless.spec.ports.find((p: { name: string }) => p.name === 'grpc-otlp')).toMatchObject({ port: 4317, appProtocol: 'grpc' });
      expect(collectorOf(ingest).env.find((e) => e.name === 'FLOWTRACE_FORWARD_TOKEN')?.valueFrom).toEqual({ secretKeyRef: { name: 'flowtrace-forward-token', key: 'token' } });
      expect(configOf(objects, process).receivers.kafka).toBeUndefined();
      for (const o of objects.filter((x) => x.kind === 'ConfigMap')) expect(o.data!['flowtrace.yaml'], o.metadata.name).not.toMatch(/kafka/);

      // The process tier's OTLP/gRPC is open to the ingest pods only.
      const policy = only(objects, 'NetworkPolicy', 'tracing-flowtrace-process');
      const grpcRules = (policy.spec.ingress as Array<{ ports: Array<{ port: number }>; from?: Array<{ podSelector?: { matchLabels: Record<string, string> } }> }>).filter((r) =>
        r.ports.some((p) => p.port === 4317),
      );
      expect(grpcRules.length).toBe(1);
      expect(grpcRules[0]!.from).toEqual([{ podSelector: { matchLabels: ingest.spec.selector.matchLabels } }]);
      // Under Istio: a DestinationRule per tier's Service, one PeerAuthentication over all three.
      expect(objects.filter((o) => o.kind === 'DestinationRule').map((o) => o.spec.host).sort()).toEqual(
        ['tracing-flowtrace-ingest', 'tracing-flowtrace-process-headless', 'tracing-flowtrace-query'].map((n) => `${n}.observability.svc.cluster.local`),
      );
      expect(podsOf(only(objects, 'PeerAuthentication').spec.selector.matchLabels, objects.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet')).length).toBe(3);
    });

    it('refuses ha without a ClickHouse server, the kafka transport without brokers, and forwarding without the token ingest requires', async () => {
      const refusals: Array<[string[], RegExp]> = [
        [['--set', 'ha.enabled=true', '--set', 'ha.kafka.brokers[0]=kafka:9092'], /ha.enabled needs clickhouse.url/],
        [['--set', 'ha.enabled=true', '--set', 'clickhouse.url=http://ch:8123'], /ha.transport kafka needs ha.kafka.brokers/],
        [['--set', 'ha.enabled=true', '--set', 'clickhouse.url=http://ch:8123', '--set', 'ha.transport=loadbalancing', '--set', 'config.auth.ingest.required=true'], /needs ha.loadbalancing.tokenSecret.name/],
        [['--set', 'ha.enabled=true', '--set', 'clickhouse.url=http://ch:8123', '--set', 'ha.kafka.brokers[0]=kafka:9092', '--set', 'ha.kafka.sasl.mechanism=plain'], /needs ha.kafka.sasl.existingSecret/],
      ];
      for (const [values, message] of refusals) {
        const r = await helm(['template', 'tracing', CHART, ...values]);
        expect(r.code, values.join(' ')).not.toBe(0);
        expect(r.stderr, values.join(' ')).toMatch(message);
      }
      // The schema: a transport it does not know, and the role (the chart's to set).
      for (const set of ['ha.transport=nats', 'config.role=ingest']) {
        const r = await helm(['template', 'tracing', CHART, '--set', set]);
        expect(r.code, set).not.toBe(0);
        expect(r.stderr, set).toMatch(/values don't meet the specifications of the schema/);
      }
      // Without Kafka nothing but the ClickHouse URL is needed.
      const minimal = await template('tracing', 'observability', ['--set', 'ha.enabled=true', '--set', 'clickhouse.url=http://ch:8123', '--set', 'ha.transport=loadbalancing']);
      expect(names(minimal, 'StatefulSet')).toEqual(['tracing-flowtrace-process']);
    });
  });

  it('hard-codes no release name or namespace: two renders differ only in those', async () => {
    // Distinctive names, so that replacing them back cannot touch anything else.
    const a = { release: 'relalpha', namespace: 'nsalpha' };
    const b = { release: 'relbravo', namespace: 'nsbravo' };
    for (const [name, values] of Object.entries({ ...VALUE_SETS, ...HA_SETS })) {
      const [ra, rb] = await Promise.all(
        [a, b].map(async (r) => ok('helm template', await helm(['template', r.release, CHART, '--namespace', r.namespace, ...values]))),
      );
      // Per render: the random bootstrap token and the config checksum (a hash of text that
      // contains the names) legitimately differ.
      const normalise = (text: string, r: typeof a) =>
        text
          .replaceAll(r.release, 'RELEASE')
          .replaceAll(r.namespace, 'NAMESPACE')
          .replace(/^(\s*token: )".*"$/gm, '$1"TOKEN"')
          .replace(/^(\s*checksum\/config: )\S+$/gm, '$1CHECKSUM');
      expect(normalise(rb!, b), name).toBe(normalise(ra!, a));
      expect(ra, name).not.toMatch(/relbravo|nsbravo/);

      // Every namespaced object carries the release's namespace (none falls back to `default`).
      for (const o of parseManifests(ra!)) {
        if (o.kind === 'Namespace') continue;
        expect(o.metadata.namespace, `${name}: ${o.kind}/${o.metadata.name}`).toBe('nsalpha');
        expect(o.metadata.name, `${name}: ${o.kind}`).toMatch(/^relalpha-/);
      }
    }
  });

  it("installs Istio's CustomResourceDefinitions from istioctl manifest generate, and the prometheus-operator's ServiceMonitor", async () => {
    const generated = parseManifests(ok('istioctl manifest generate', await istioctl(['manifest', 'generate'])));
    const crds = generated.filter((o) => o.kind === 'CustomResourceDefinition');
    expect(crds.map((c) => c.metadata.name)).toEqual(
      expect.arrayContaining(['peerauthentications.security.istio.io', 'destinationrules.networking.istio.io', 'telemetries.telemetry.istio.io']),
    );
    // Server-side apply: Istio's CRDs are too big for kubectl's last-applied annotation.
    const manifest = crds.map((c) => JSON.stringify(c)).join('\n');
    ok('kubectl apply CRDs', await kube.kubectlResult(['apply', '--server-side', '-f', '-'], manifest));
    ok('kubectl wait CRDs', await kube.kubectlResult(['wait', '--for=condition=Established', '--timeout=60s', ...crds.map((c) => `crd/${c.metadata.name}`)]));

    ok('kubectl apply ServiceMonitor CRD', await kube.kubectlResult(['apply', '--server-side', '-f', serviceMonitorCrd]));
    ok('kubectl wait ServiceMonitor CRD', await kube.kubectlResult(['wait', '--for=condition=Established', '--timeout=60s', 'crd/servicemonitors.monitoring.coreos.com']));
  });

  // The `helm test` hooks are left out here: the test Pod names the release's ServiceAccount, which
  // admission looks up even in a dry run. They are dry-run after the real install below.
  it('passes a server-side dry run of every rendered object (test hooks aside), for each value set and ci/*-values.yaml', async () => {
    expect(Object.keys(DRY_RUN_SETS)).toEqual(expect.arrayContaining(['default', 'clickhouse', 'istio', 'ci/everything-values.yaml']));
    for (const [name, values] of Object.entries(DRY_RUN_SETS)) {
      const namespace = `dry-${name.replace(/[^a-z0-9]+/g, '-').replace(/-yaml$/, '')}`;
      ok('kubectl create namespace', await kube.kubectlResult(['create', 'namespace', namespace]));
      const rendered = await template('tracing', namespace, values);
      const objects = rendered.filter((o) => !isTestHook(o));
      // The test Pod and its ConfigMap, unless the value set turns tests off.
      expect([0, 2], name).toContain(rendered.length - objects.length);
      const text = objects.map((o) => JSON.stringify(o)).join('\n');
      const r = await kube.kubectlResult(['apply', '--dry-run=server', '-o', 'json', '-f', '-'], text);
      expect(r.code, `${name}:\n${r.stderr}`).toBe(0);
      const out = JSON.parse(r.stdout) as { items: K8sObject[] };
      expect(out.items.map((o) => `${o.kind}/${o.metadata.name}`).sort(), name).toEqual(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort());
      // A dry run stores nothing.
      expect((await kube.kubectl(['get', 'all', '-n', namespace, '-o', 'name'])).trim(), name).toBe('');
    }
  });

  it('installs for real (helm install, no --wait) and every object of the release exists', async () => {
    const namespace = 'observability';
    const installed = ok('helm install', await helm(['install', 'tracing', CHART, '--namespace', namespace, '--create-namespace', '--set', 'istio.enabled=true']));
    expect(installed).toMatch(/STATUS: deployed/);

    const status = JSON.parse(ok('helm status', await helm(['status', 'tracing', '--namespace', namespace, '-o', 'json']))) as { info: { status: string } };
    expect(status.info.status).toBe('deployed');

    const manifest = parseManifests(ok('helm get manifest', await helm(['get', 'manifest', 'tracing', '--namespace', namespace])));
    expect(manifest.map((o) => o.kind)).toEqual(expect.arrayContaining(['StatefulSet', 'Service', 'ConfigMap', 'Secret', 'PeerAuthentication']));
    for (const o of manifest) {
      const group = o.apiVersion.includes('/') ? `.${o.apiVersion.split('/')[0]}` : '';
      const stored = JSON.parse(await kube.kubectl(['get', `${o.kind.toLowerCase()}${group}/${o.metadata.name}`, '-n', namespace, '-o', 'json'])) as K8sObject;
      expect(stored.metadata.labels?.['app.kubernetes.io/managed-by'], `${o.kind}/${o.metadata.name}`).toBe('Helm');
      expect(stored.metadata.annotations?.['meta.helm.sh/release-name']).toBe('tracing');
    }
    // Test hooks are not installed by `helm install`.
    expect((await kube.kubectlResult(['get', 'pod/tracing-flowtrace-test', '-n', namespace])).code).not.toBe(0);
  });

  it("accepts the helm test Pod (and its ConfigMap) in a server-side dry run against the installed release's namespace", async () => {
    const text = ok(
      'helm template',
      await helm(['template', 'tracing', CHART, '--namespace', 'observability', '--set', 'istio.enabled=true', '--show-only', 'templates/tests/test-roundtrip.yaml']),
    );
    const objects = parseManifests(text);
    expect(objects.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'Pod']);
    expect(objects.every(isTestHook)).toBe(true);
    const out = JSON.parse(ok('kubectl apply --dry-run=server', await kube.kubectlResult(['apply', '--dry-run=server', '-o', 'json', '-f', '-'], text))) as {
      items: K8sObject[];
    };
    const pod = only(out.items, 'Pod');
    expect(pod.spec.securityContext.runAsNonRoot).toBe(true);
    // Server-side defaulting ran (the template sets no dnsPolicy).
    expect(pod.spec.dnsPolicy).toBe('ClusterFirst');
  });

  it('passes istioctl validate and istioctl analyze (offline, all namespaces) on the Istio resources', async () => {
    const dir = mkdtempSync(join(home, 'istio-'));
    for (const values of [VALUE_SETS.istio!, ['-f', join(CHART, 'ci/istio-values.yaml')]]) {
      const all = await template('tracing', 'observability', values);
      const istio = all.filter((o) => o.apiVersion.includes('istio.io'));
      expect(istio.map((o) => o.kind).sort()).toEqual(['DestinationRule', 'PeerAuthentication', 'Telemetry', 'Telemetry']);
      const file = join(dir, 'istio.yaml');
      writeFileSync(file, istio.map((o) => JSON.stringify(o)).join('\n---\n'));

      const validate = await istioctl(['validate', '-f', file]);
      expect(validate.code, validate.stderr + validate.stdout).toBe(0);
      expect(validate.stdout + validate.stderr).toContain('is valid');

      const analyze = await istioctl(['analyze', '--use-kube=false', '-A', file]);
      expect(analyze.code, analyze.stderr + analyze.stdout).toBe(0);
      expect(analyze.stdout + analyze.stderr).toMatch(/No validation issues found/);
    }
  });
});
