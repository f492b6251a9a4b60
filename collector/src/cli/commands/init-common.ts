/** What every `flowtrace init <language>` command shares. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UsageError } from '../command.js';

/** The FlowTrace checkout or package this CLI runs from: the folder whose package.json is "flowtrace". */
export function flowtraceRoot(): string | undefined {
  for (let d = import.meta.dirname; ; d = dirname(d)) {
    const pkg = join(d, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'flowtrace') return d;
      } catch {
        // not ours; keep looking
      }
    }
    if (dirname(d) === d) return undefined;
  }
}

/** `--endpoint`, or the agent's default: an http(s) URL, else a usage error naming it. */
export function endpointFlag(value: string | undefined, fallback: string): string {
  const endpoint = value ?? fallback;
  try {
    const url = new URL(endpoint);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
  } catch {
    throw new UsageError(`--endpoint must be an http(s) URL, got "${endpoint}"`);
  }
  return endpoint;
}
