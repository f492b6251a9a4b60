import { describe, expect, it } from 'vitest';
import { backendOtlpConfig, canonicalHostPort, loadBalancingConfigSchema } from './config.js';

function problem(input: unknown): string {
  const result = loadBalancingConfigSchema.safeParse(input);
  if (result.success) return 'ok';
  const issue = result.error.issues[0]!;
  return `${issue.path.join('.')}: ${issue.message}`;
}

const staticThree = { static: { hostnames: ['10.0.0.1:4317', '10.0.0.2:4317', '10.0.0.3:4317'] } };

describe('loadbalancing exporter config', () => {
  it('has the Collector\'s defaults: traceID, OTLP/gRPC over TLS, 30 s handover', () => {
    const config = loadBalancingConfigSchema.parse({ resolver: staticThree });
    expect(config.routing_key).toBe('traceID');
    expect(config.protocol.otlp).toEqual({ protocol: 'grpc', headers: {}, tls: { insecure: false, insecure_skip_verify: false }, compression: 'gzip', timeout_ms: 10_000 });
    expect(config.handover_seconds).toBe(30);
    expect(config.backend_queue.max_bytes).toBe(1024 ** 3);
    const dns = loadBalancingConfigSchema.parse({ resolver: { dns: { hostname: 'flowtrace-process.ns.svc.cluster.local' } } });
    expect(dns.resolver.dns).toEqual({ hostname: 'flowtrace-process.ns.svc.cluster.local', port: 4317, interval_seconds: 5, timeout_seconds: 1 });
  });

  it('supports only traceID routing, and says so', () => {
    expect(problem({ routing_key: 'service', resolver: staticThree })).toBe('routing_key: only traceID is supported (the Collector\'s "service" is not supported yet); got "service"');
    expect(problem({ routing_key: 'trace', resolver: staticThree })).toBe('routing_key: only traceID is supported; got "trace"');
  });

  it('wants exactly one resolver', () => {
    expect(problem({})).toBe('resolver: required: static: { hostnames: [...] } or dns: { hostname: ... }');
    expect(problem({ resolver: {} })).toBe('resolver: set one of static or dns');
    expect(problem({ resolver: { ...staticThree, dns: { hostname: 'x.example' } } })).toBe('resolver: set only one of static and dns');
    expect(problem({ resolver: { k8s: { service: 'x' } } })).toBe("resolver: unknown resolver k8s: expected static or dns (on Kubernetes: dns with a headless Service's name)");
  });

  it('checks static hostnames: host:port, no duplicates (after canonicalising)', () => {
    expect(problem({ resolver: { static: { hostnames: [] } } })).toBe('resolver.static.hostnames: list at least one backend (host:port)');
    expect(problem({ resolver: { static: { hostnames: ['backend-1'] } } })).toMatch(/^resolver\.static\.hostnames\.0: expected host:port .*got "backend-1"$/);
    expect(problem({ resolver: { static: { hostnames: ['a:4317', 'http://b:4317'] } } })).toMatch(/^resolver\.static\.hostnames\.1: expected host:port/);
    expect(problem({ resolver: { static: { hostnames: ['a:70000'] } } })).toMatch(/^resolver\.static\.hostnames\.0: expected host:port \(port 1–65535\)/);
    expect(problem({ resolver: { static: { hostnames: ['Backend-1:4317', 'backend-1.:04317'] } } })).toBe('resolver.static.hostnames.1: backend-1:4317 is listed twice (also at index 0)');
    expect(problem({ resolver: { static: { hostnames: ['[fd00::5]:4317', '10.0.0.1:4317'] } } })).toBe('ok');
  });

  it('canonicalises host:port so that every collector builds the same ring', () => {
    expect(canonicalHostPort('Backend-1.NS.svc.:04317')).toBe('backend-1.ns.svc:4317');
    expect(canonicalHostPort('[FD00::5]:4317')).toBe('[fd00::5]:4317');
    expect(canonicalHostPort('fd00::5:4317')).toBeUndefined();
    expect(canonicalHostPort('[not-v6]:4317')).toBeUndefined();
  });

  it('checks the DNS resolver', () => {
    expect(problem({ resolver: { dns: {} } })).toMatch(/^resolver\.dns\.hostname: required/);
    expect(problem({ resolver: { dns: { hostname: 'bad name' } } })).toMatch(/^resolver\.dns\.hostname: expected a DNS name/);
    expect(problem({ resolver: { dns: { hostname: 'x.example', port: 0 } } })).toBe('resolver.dns.port: must be 1–65535');
    expect(problem({ resolver: { dns: { hostname: 'x.example', interval_seconds: 0 } } })).toBe('resolver.dns.interval_seconds: must be at least 1');
    expect(problem({ resolver: { dns: { hostname: 'x.example', server: 'kube-dns:53' } } })).toBe('resolver.dns.server: expected an IP address, not a name (e.g. 10.96.0.10:53, 10.96.0.10 or [fd00::a]:53); got "kube-dns:53"');
    expect(problem({ resolver: { dns: { hostname: 'x.example', server: '10.96.0.10:53' } } })).toBe('ok');
    expect(problem({ resolver: { dns: { hostname: 'x.example', server: '[fd00::a]:53' } } })).toBe('ok');
    expect(problem({ resolver: { dns: { hostname: 'x.example', server: '10.96.0.10' } } })).toBe('ok');
  });

  it('takes the otlp exporter\'s settings except endpoint', () => {
    expect(problem({ resolver: staticThree, protocol: { otlp: { endpoint: 'http://x:4317' } } })).toMatch(/^protocol\.otlp: .*endpoint/);
    expect(problem({ resolver: staticThree, protocol: { otlp: { protocol: 'http/json' } } })).toMatch(/^protocol\.otlp\.protocol: /);
    expect(problem({ resolver: staticThree, protocol: { otlp: { tls: { insecure: true, ca_file: '/ca.pem' } } } })).toBe('protocol.otlp.tls.insecure: tls.insecure turns TLS off, so tls.ca_file would be ignored');
    expect(problem({ resolver: staticThree, protocol: { otlp: { headers: { 'bad header': 'x' } } } })).toMatch(/^protocol\.otlp\.headers\.bad header: /);
    expect(problem({ resolver: staticThree, handover_seconds: -1 })).toBe('handover_seconds: must be 0 (off) or more');
    expect(problem({ resolver: staticThree, backend_queue: { max_bytes: 10 } })).toMatch(/^backend_queue\.max_bytes: must be at least 4 MiB/);
  });

  it('gives each backend an endpoint: https unless tls.insecure (as the Collector)', () => {
    const tls = loadBalancingConfigSchema.parse({ resolver: staticThree }).protocol.otlp;
    expect(backendOtlpConfig(tls, '10.0.0.1:4317').endpoint).toBe('https://10.0.0.1:4317');
    const plain = loadBalancingConfigSchema.parse({ resolver: staticThree, protocol: { otlp: { protocol: 'http/protobuf', tls: { insecure: true } } } }).protocol.otlp;
    expect(backendOtlpConfig(plain, '[fd00::5]:4318')).toMatchObject({ endpoint: 'http://[fd00::5]:4318', protocol: 'http/protobuf' });
  });
});
