// Sends one span to a FlowTrace collector over OTLP/HTTP (JSON) and reads it back through the
// query API: the chart's `helm test`, also run by the test suite against a real collector
// (test/helm-test-script.e2e.test.ts). Plain Node.js (>= 20), no dependencies.
//
// Environment:
//   FLOWTRACE_OTLP_HTTP_URL  e.g. http://<release>-flowtrace:4318
//   FLOWTRACE_API_URL        e.g. http://<release>-flowtrace:8686
//   FLOWTRACE_TOKEN          a token with the read scope (and ingest, when ingest requires one)
//   FLOWTRACE_TIMEOUT_SECONDS  how long to wait for the span to be stored (default 120)
//   FLOWTRACE_ISTIO_QUIT     "true": stop the pod's Istio sidecar at the end, so the test pod completes
// Exit 0 when the span came back intact, 1 otherwise (the reason on stderr).
import { randomBytes } from 'node:crypto';

const otlpUrl = required('FLOWTRACE_OTLP_HTTP_URL').replace(/\/$/, '');
const apiUrl = required('FLOWTRACE_API_URL').replace(/\/$/, '');
const token = process.env.FLOWTRACE_TOKEN ?? '';
const timeoutMs = Number(process.env.FLOWTRACE_TIMEOUT_SECONDS ?? '120') * 1000;
const auth = token ? { authorization: `Bearer ${token}` } : {};

function required(name) {
  const value = process.env[name];
  if (!value) fail(`${name} is not set`);
  return value;
}

function fail(message) {
  process.stderr.write(`helm test: FAILED: ${message}\n`);
  process.exitCode = 1;
  throw new Error(message);
}

async function main() {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  const marker = randomBytes(8).toString('hex');
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  const span = {
    traceId,
    spanId,
    name: 'flowtrace helm test',
    kind: 2,
    startTimeUnixNano: String(nowNs - 5_000_000n),
    endTimeUnixNano: String(nowNs),
    attributes: [{ key: 'flowtrace.test.marker', value: { stringValue: marker } }],
    status: { code: 1 },
  };
  const body = {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'flowtrace-helm-test' } }] },
        scopeSpans: [{ scope: { name: 'flowtrace-helm-test' }, spans: [span] }],
      },
    ],
  };

  const sent = await fetch(`${otlpUrl}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...auth },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  if (!sent.ok) fail(`POST ${otlpUrl}/v1/traces answered ${sent.status}: ${(await sent.text()).slice(0, 300)}`);
  console.log(`sent span ${spanId} of trace ${traceId} to ${otlpUrl}/v1/traces`);

  // Stored spans become readable after the pipeline's batch interval: poll, bounded.
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const res = await fetch(`${apiUrl}/api/traces/${traceId}`, { headers: auth, signal: AbortSignal.timeout(30_000) }).catch((err) => err);
    if (res instanceof Error) last = String(res);
    else if (res.status === 401 || res.status === 403 || res.status === 421) fail(`GET ${apiUrl}/api/traces/${traceId} answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
    else if (res.ok) {
      const trace = await res.json();
      const got = (trace.spans ?? []).find((s) => s.spanId === spanId);
      if (!got) fail(`trace ${traceId} came back without span ${spanId}`);
      if (got.attributes?.['flowtrace.test.marker'] !== marker) fail(`span ${spanId} came back without its marker attribute: ${JSON.stringify(got.attributes)}`);
      console.log(`read span ${spanId} back from ${apiUrl}/api/traces/${traceId}: OK`);
      return;
    } else last = `${res.status} ${(await res.text()).slice(0, 200)}`;
    if (Date.now() > deadline) fail(`trace ${traceId} not readable after ${timeoutMs / 1000} s (last answer: ${last})`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function quitIstioSidecar() {
  if (process.env.FLOWTRACE_ISTIO_QUIT !== 'true') return;
  // A test pod with a (non-native) sidecar never completes unless the proxy is told to exit.
  await fetch('http://127.0.0.1:15020/quitquitquit', { method: 'POST' }).catch(() => undefined);
}

try {
  await main();
} catch (err) {
  if (process.exitCode !== 1) process.stderr.write(`helm test: FAILED: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
} finally {
  await quitIstioSidecar();
}
