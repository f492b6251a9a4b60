import { isIP } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { isLoopbackHost } from './loopback.js';

export interface HostCheckOptions {
  /** The host the API is bound to (`127.0.0.1`, `0.0.0.0`, a name). */
  boundHost: string;
  /** `api.allowed_hosts`: names (any port) or `name:port`. */
  allowedHosts: readonly string[];
}

/** Splits a Host header into its name (IPv6 kept in brackets) and port. */
export function splitHostHeader(host: string): { name: string; port?: string } {
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(host);
  return m ? { name: m[1]!.toLowerCase(), port: m[2] } : { name: host.toLowerCase() };
}

/**
 * DNS rebinding: a page on a hostile name that resolves to this machine would reach the API
 * with `Host: <hostile name>`. Accepted: loopback names and addresses, any IP address literal
 * (a rebinding attack always comes under the attacker's name, and probes such as Kubernetes'
 * use the pod IP), the bound host, and `api.allowed_hosts`.
 */
export function hostAllowed(header: string | undefined, options: HostCheckOptions): boolean {
  if (!header) return false;
  const { name } = splitHostHeader(header);
  const bare = name.replace(/^\[|\]$/g, '');
  if (isLoopbackHost(name) || isIP(bare) !== 0) return true;
  if (name === options.boundHost.toLowerCase()) return true;
  return options.allowedHosts.some((entry) => {
    const e = entry.toLowerCase();
    return e.includes(':') && !e.startsWith('[') ? e === header.toLowerCase() : e === name;
  });
}

/** Refuses requests whose Host header is not one this API answers to: 421 naming the setting. */
export function registerHostCheck(app: FastifyInstance, options: HostCheckOptions): void {
  app.addHook('onRequest', async (req, reply) => {
    const host = req.headers.host;
    if (hostAllowed(host, options)) return;
    req.auditFailure = 'host.refused';
    const shown = JSON.stringify((host ?? '').slice(0, 100));
    return reply
      .code(421)
      .send({ error: `Host ${shown} is not a name this API answers to (DNS rebinding protection); add it to api.allowed_hosts to allow it` });
  });
}
