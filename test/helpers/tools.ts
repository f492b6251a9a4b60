/**
 * Real command-line tools for deployment tests (Helm, Docker Compose, istioctl, etcd,
 * kube-apiserver, kubectl), built from the Go module proxy by test/tools/build.sh (see
 * test/tools/README.md). Mirrors ensurePeer() in ./peers.ts.
 *
 * Nothing here is skipped or mocked: if a tool cannot be built, the call throws.
 */
import { join, resolve } from 'node:path';
import { runBuildScript } from './process.js';

const ROOT = resolve(import.meta.dirname, '../..');
export const TOOLS_BUILD_SCRIPT = join(ROOT, 'test/tools/build.sh');

/** `servicemonitor-crd` is a file, not a program: the prometheus-operator's ServiceMonitor CRD. */
export type ToolName = 'helm' | 'compose' | 'istioctl' | 'etcd' | 'kube-apiserver' | 'kubectl' | 'servicemonitor-crd';

/** A cold kube-apiserver build compiles for 10+ minutes on 2 cores (more while other builds run). */
export const TOOL_BUILD_TIMEOUT_MS = 45 * 60_000;

const builds = new Map<ToolName, Promise<string>>();

/**
 * Builds the tool with test/tools/build.sh (a no-op when the binary is already cached) and
 * resolves to the binary's absolute path. Memoised per process.
 */
export function ensureTool(name: ToolName): Promise<string> {
  let p = builds.get(name);
  if (!p) {
    p = runBuildScript(TOOLS_BUILD_SCRIPT, name, TOOL_BUILD_TIMEOUT_MS);
    builds.set(name, p);
    p.catch(() => builds.delete(name));
  }
  return p;
}
