import { canonicalHostPort } from './config.js';

/** Where the backends come from: a fixed list or a name resolved again and again. */
export interface BackendResolver {
  /**
   * Calls `onChange` with the first set found (awaited, so that a static list's backends are up
   * before the exporter says it started), then with every different set. Sets are canonical
   * `host:port`, sorted, without duplicates.
   */
  start(onChange: (endpoints: string[]) => Promise<void>): Promise<void>;
  shutdown(): Promise<void>;
}

/** `resolver.static.hostnames`: the set never changes. */
export class StaticResolver implements BackendResolver {
  private readonly endpoints: string[];

  constructor(hostnames: readonly string[]) {
    this.endpoints = [...new Set(hostnames.map((h) => canonicalHostPort(h) ?? h))].sort();
  }

  async start(onChange: (endpoints: string[]) => Promise<void>): Promise<void> {
    await onChange([...this.endpoints]);
  }

  async shutdown(): Promise<void> {}
}
