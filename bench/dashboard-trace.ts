/**
 * `npx tsx bench/dashboard-trace.ts`: how long `/traces/:traceId` takes to become interactive in
 * headless chromium, on a real collector holding method-level traces of 10,000 and 100,000 spans
 * (sent over OTLP/HTTP in the shape of dashboard/src/trace/model's generator: services, method
 * trees, N+1 loops, errors). Per run, from navigation start (the page's own clock):
 * - ready: the first rows painted (the waterfall's `flowtrace:trace-ready` mark, `data-ready`);
 * - interactive: then a scroll to the middle of the list shows its rows and a collapse of the
 *   root completes (both painted);
 * - the skeleton request's end (resource timing), and main-thread long tasks (PerformanceObserver
 *   'longtask', observed from the first script on): count, longest, total, until the critical
 *   path is on screen.
 * Medians (p50) of 5 runs after a warm-up. Build first (`npm run build`, or
 * `npx tsc -p tsconfig.build.json && npm run build -w @flowtrace/dashboard`).
 * Writes bench/results/dashboard-trace.json.
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { methodLevelTrace } from '../dashboard/src/trace/model/skeleton.testing.js';
import { launchBrowser } from '../test/helpers/browser.js';
import { cleanup, startCollector, waitFor } from '../test/helpers/collector.js';
import { postTraces } from '../test/helpers/otlp-send.js';

const BATCH = 2_000;
const SIZES = (process.env.SIZES ?? '10000,100000').split(',').map(Number);
const RUNS = Number(process.env.RUNS ?? 5);

/** The generator's skeleton as OTLP/JSON requests of BATCH spans, with a few attributes per span. */
function* requests(traceId: string, size: number): Generator<string> {
  const s = methodLevelTrace(size, 42);
  const t0 = BigInt(Date.now() - 120_000) * 1_000_000n;
  for (let from = 0; from < s.spanId.length; from += BATCH) {
    const byService = new Map<string, unknown[]>();
    for (let i = from; i < Math.min(from + BATCH, s.spanId.length); i++) {
      const service = s.services[s.service[i]!]!;
      const name = s.names[s.name[i]!]!;
      const start = t0 + BigInt(s.start[i]!);
      const attributes = [{ key: 'flowtrace.correlation_id', value: { stringValue: 'bench-dashboard' } }];
      if (s.flags[i]! & 1) attributes.push({ key: 'code.function.name', value: { stringValue: name.split('.')[1] ?? name } }, { key: 'flowtrace.args.0', value: { stringValue: String(i) } });
      else if (name.startsWith('SELECT')) attributes.push({ key: 'db.system.name', value: { stringValue: 'postgresql' } });
      const list = byService.get(service) ?? [];
      byService.set(service, list);
      list.push({
        traceId,
        spanId: s.spanId[i],
        parentSpanId: s.parent[i]! >= 0 ? s.spanId[s.parent[i]!] : '',
        name,
        kind: s.kind[i],
        startTimeUnixNano: start.toString(),
        endTimeUnixNano: (start + BigInt(s.duration[i]!)).toString(),
        attributes,
        status: { code: s.status[i] },
      });
    }
    yield JSON.stringify({
      resourceSpans: [...byService].map(([service, spans]) => ({ resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] }, scopeSpans: [{ scope: { name: 'bench' }, spans }] })),
    });
  }
}

interface Run {
  readyMs: number;
  interactiveMs: number;
  skeletonMs: number;
  criticalPathMs: number;
  longTasks: number;
  longestTaskMs: number;
  longTaskTotalMs: number;
}

/** Installed before the page's scripts: records every long task of the main thread. */
const OBSERVE_LONG_TASKS = `
  window.__longTasks = [];
  new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__longTasks.push(e.duration); }).observe({ type: 'longtask', buffered: true });
`;

const median = (xs: number[]) => +[...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!.toFixed(1);

const collector = await startCollector();
const browser = await launchBrowser(join(import.meta.dirname, 'dashboard-trace.test.ts'));
const results: Record<string, unknown> = {};
try {
  for (const size of SIZES) {
    const traceId = (0xda5b0000 + size).toString(16).padStart(32, '0');
    const sendStart = performance.now();
    for (const body of requests(traceId, size)) {
      const outcome = await postTraces(collector.httpEndpoint, body, 'application/json');
      if (outcome.status !== 200 || outcome.rejected !== 0) throw new Error(`export refused: ${JSON.stringify(outcome)}`);
    }
    await waitFor(async () => {
      const res = await fetch(`${collector.apiUrl}/api/traces/${traceId}/skeleton`);
      return res.status === 200 && ((await res.json()) as { spanCount: number }).spanCount === size ? true : undefined;
    }, `${size} spans stored`, 600_000);
    console.log(`${size} spans stored in ${((performance.now() - sendStart) / 1000).toFixed(1)} s`);

    const runs: Run[] = [];
    for (let i = 0; i <= RUNS; i++) {
      const { page, context, errors } = await browser.newPage();
      await page.addInitScript(OBSERVE_LONG_TASKS);
      await page.goto(`${collector.apiUrl}/traces/${traceId}`);
      await page.locator('.waterfall[data-ready="true"]').waitFor({ timeout: 120_000 });
      if (i === 0) await browser.screenshot(page, `trace-${size}`); // the warm-up run: not measured
      // A string, not a function: tsx's helpers (__name) do not exist in the page.
      const interactiveMs = (await page.evaluate(`(async () => {
        const frame = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
        const list = document.querySelector('.waterfall-scroll');
        const rows = Number(document.querySelector('.waterfall').dataset.rows);
        // Scroll to the middle: the rows there must be in the DOM.
        const target = Math.floor(rows / 2);
        list.scrollTop = target * 24;
        for (let k = 0; k < 100 && !document.getElementById(\`wf-row-\${target}\`); k++) await frame();
        if (!document.getElementById(\`wf-row-\${target}\`)) throw new Error('scrolling did not render the rows');
        // Back up and collapse the root: the list shrinks.
        list.scrollTop = 0;
        await frame();
        document.querySelector('#wf-row-0 .wf-twisty').click();
        for (let k = 0; k < 100 && Number(document.querySelector('.waterfall').dataset.rows) === rows; k++) await frame();
        if (Number(document.querySelector('.waterfall').dataset.rows) === rows) throw new Error('the collapse did not happen');
        await frame();
        return performance.now();
      })()`)) as number;
      await page.locator('.trace-page:not([data-critical-path="pending"])').waitFor({ timeout: 120_000 });
      const measured = (await page.evaluate(`(() => {
        const ready = performance.getEntriesByName('flowtrace:trace-ready')[0]?.startTime ?? NaN;
        const skeleton = performance.getEntriesByType('resource').find((e) => e.name.includes('/skeleton'));
        return { ready, skeletonEnd: skeleton?.responseEnd ?? NaN, criticalPath: performance.now(), tasks: window.__longTasks };
      })()`)) as { ready: number; skeletonEnd: number; criticalPath: number; tasks: number[] };
      // The session probe's 401 (no session needed on loopback) is logged by the browser; anything else is a failure.
      const failures = errors.filter((e) => !/status of 401/.test(e));
      if (failures.length > 0) throw new Error(`page errors: ${failures.join('; ')}`);
      await context.close();
      if (i === 0) continue; // warm-up
      const run: Run = {
        readyMs: +measured.ready.toFixed(1),
        interactiveMs: +interactiveMs.toFixed(1),
        skeletonMs: +measured.skeletonEnd.toFixed(1),
        criticalPathMs: +measured.criticalPath.toFixed(1),
        longTasks: measured.tasks.length,
        longestTaskMs: +Math.max(0, ...measured.tasks).toFixed(1),
        longTaskTotalMs: +measured.tasks.reduce((a, b) => a + b, 0).toFixed(1),
      };
      runs.push(run);
      console.log(size, JSON.stringify(run));
    }
    const p50 = (key: keyof Run) => median(runs.map((r) => r[key]));
    results[`spans${size}`] = {
      p50: { readyMs: p50('readyMs'), interactiveMs: p50('interactiveMs'), skeletonResponseEndMs: p50('skeletonMs'), longestTaskMs: p50('longestTaskMs'), longTaskTotalMs: p50('longTaskTotalMs') },
      worstLongestTaskMs: Math.max(...runs.map((r) => r.longestTaskMs)),
      runs,
    };
  }
} finally {
  await browser.close();
  await collector.stop();
  await cleanup();
}
const result = {
  benchmark: 'dashboard-trace',
  command: 'npx tsx bench/dashboard-trace.ts',
  goal: '10,000 spans interactive < 1.5 s; 100,000 spans without freezing (longest main-thread task reported)',
  date: new Date().toISOString(),
  node: process.version,
  machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length },
  browser: 'Debian chromium, headless, 1280×800',
  ...results,
};
console.log(JSON.stringify(result, null, 2));
const out = join(resolve(import.meta.dirname), 'results', 'dashboard-trace.json');
writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
console.log(`written to ${out}`);
