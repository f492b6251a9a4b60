/**
 * Proves the real Kubernetes control plane of test/helpers/kube.ts: etcd + kube-apiserver on
 * loopback, driven with the real kubectl (all built by test/tools/build.sh).
 *
 * Part of `npm test`; the first run builds the three binaries (test/tools/build.sh, minutes
 * cold, then cached):
 *
 *   npx vitest run test/tools/kube-apiserver.e2e.test.ts
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tcpOpen } from '../helpers/process.js';
import { KUBE_HOOK_TIMEOUT_MS, startKubeApiServer, type RunningKubeApiServer } from '../helpers/kube.js';

const DEPLOYMENT_AND_SERVICE = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
spec:
  replicas: 2
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web }
    spec:
      containers:
        - name: web
          image: example.invalid/web:1.0
          ports: [{ containerPort: 8080 }]
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: default
spec:
  selector: { app: web }
  ports: [{ port: 80, targetPort: 8080 }]
`;

interface KubeObject {
  kind: string;
  metadata: { name: string; namespace?: string; uid?: string };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}

describe('kube-apiserver + etcd + kubectl (test/tools)', () => {
  let kube: RunningKubeApiServer;

  beforeAll(async () => {
    kube = await startKubeApiServer();
  }, KUBE_HOOK_TIMEOUT_MS);
  afterAll(async () => {
    await kube?.stop();
  });

  it('serves the API with the versions built, and the default ServiceAccount exists', async () => {
    const version = JSON.parse(await kube.kubectl(['version', '-o', 'json'])) as {
      clientVersion: { gitVersion: string };
      serverVersion: { gitVersion: string };
    };
    expect(version.clientVersion.gitVersion).toBe('v1.37.2');
    expect(version.serverVersion.gitVersion).toBe('v1.37.2');
    expect(await kube.kubectl(['get', 'serviceaccount', 'default', '-n', 'default', '-o', 'jsonpath={.metadata.name}'])).toBe('default');
  });

  it('accepts a Deployment and a Service with --dry-run=server, and stores nothing', async () => {
    const out = await kube.kubectl(['apply', '--dry-run=server', '-o', 'json', '-f', '-'], DEPLOYMENT_AND_SERVICE);
    const list = JSON.parse(out) as { kind: string; items: KubeObject[] };
    expect(list.kind).toBe('List');
    expect(list.items.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['Deployment/web', 'Service/web']);
    // Server-side defaulting ran: the API server filled in what the manifest left out.
    const deployment = list.items[0]!;
    expect((deployment.spec as { strategy?: { type?: string } }).strategy?.type).toBe('RollingUpdate');
    const service = list.items[1]!;
    expect((service.spec as { clusterIP?: string; type?: string }).type).toBe('ClusterIP');

    const get = await kube.kubectlResult(['get', 'deployment/web', 'service/web', '-n', 'default']);
    expect(get.code).not.toBe(0);
    expect(get.stderr).toMatch(/NotFound|not found/);
  });

  it('rejects an invalid Deployment in a server-side dry run (real validation)', async () => {
    const invalid = DEPLOYMENT_AND_SERVICE.split('---')[0]!.replace('replicas: 2', 'replicas: -1');
    const r = await kube.kubectlResult(['apply', '--dry-run=server', '-f', '-'], invalid);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/spec\.replicas/);
  });

  it('applies a ConfigMap and reads it back', async () => {
    const configMap = `apiVersion: v1
kind: ConfigMap
metadata:
  name: flowtrace-test
  namespace: default
data:
  collector.yaml: |
    listen: 0.0.0.0:4318
  mode: agent
`;
    expect(await kube.kubectl(['apply', '-f', '-'], configMap)).toMatch(/configmap\/flowtrace-test (created|configured)/);
    const back = JSON.parse(await kube.kubectl(['get', 'configmap', 'flowtrace-test', '-n', 'default', '-o', 'json'])) as KubeObject;
    expect(back.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(back.data).toEqual({ 'collector.yaml': 'listen: 0.0.0.0:4318\n', mode: 'agent' });
  });

  it('stops: nothing listens on the API server port afterwards', async () => {
    const port = Number(new URL(kube.server).port);
    expect(await tcpOpen(port)).toBe(true);
    await kube.stop();
    await kube.stop(); // idempotent
    expect(await tcpOpen(port)).toBe(false);
  });
});
