export { loadBalancingConfigSchema, canonicalHostPort, ROUTING_KEYS, type LoadBalancingConfig } from './config.js';
export { LoadBalancingExporter } from './exporter.js';
export { loadBalancingExporterFactory } from './factory.js';
export { HashRing, hash32, POINTS_PER_BACKEND } from './ring.js';
