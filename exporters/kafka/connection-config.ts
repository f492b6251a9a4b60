import { z } from 'zod';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { loadTls } from '../otlp/tls.js';
import { checkClientCertPair, clientTlsFields } from '../client-tls.js';

/**
 * How FlowTrace reaches a Kafka cluster: the settings the `kafka` exporter (exporters/kafka)
 * and the `receivers.kafka` receiver (collector/src/receivers/kafka) share, after the
 * OpenTelemetry Collector's kafka exporter/receiver in this project's snake_case. Files named
 * under `tls` are read when the component starts ({@link kafkaClientConnection}).
 */

/** `host:port`, `[v6]:port`: what a Kafka bootstrap list holds (no scheme). */
const BROKER = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):(\d{1,5})$/;

const brokerSchema = z.string().superRefine((text, ctx) => {
  const m = BROKER.exec(text);
  if (!m) ctx.addIssue({ code: 'custom', message: `expected host:port (e.g. kafka-0.kafka:9092, no scheme), got ${JSON.stringify(text)}` });
  else if (Number(m[1]) < 1 || Number(m[1]) > 65535) ctx.addIssue({ code: 'custom', message: `port out of range in ${JSON.stringify(text)}` });
});

const tlsSchema = z
  .object({
    /** Connect to the brokers over TLS. The other keys only matter when this is true. */
    enabled: z.boolean().default(false),
    ...clientTlsFields,
  })
  .strict()
  .superRefine(checkClientCertPair);

export const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

// The password is never echoed back: zod's messages here name the key, not the value.
const saslSchema = z
  .object({
    mechanism: z.enum(SASL_MECHANISMS, { error: `expected one of ${SASL_MECHANISMS.join(', ')}` }),
    username: z.string({ error: 'required: the SASL user name' }).min(1, 'must not be empty'),
    password: z.string({ error: 'required: the SASL password (a string)' }).min(1, 'must not be empty'),
  })
  .strict();

/** The fields both components spread into their own schema. */
export const kafkaConnectionFields = {
  /** Bootstrap brokers, `host:port` each; the client learns the rest of the cluster from them. */
  brokers: z
    .array(brokerSchema, { error: (issue) => (issue.input === undefined ? 'required: a list of Kafka brokers, e.g. [kafka-0:9092]' : 'expected a list of host:port strings') })
    .min(1, 'name at least one broker'),
  /** Sent to the brokers with every request (their logs and quotas name it). */
  client_id: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,255}$/, 'expected letters, digits, . _ - (at most 255 characters)')
    .default('flowtrace'),
  tls: tlsSchema.prefault({}),
  /** SASL authentication (over TLS unless the network is trusted: PLAIN sends the password as is). */
  sasl: saslSchema.optional(),
};

export const kafkaConnectionSchema = z.object(kafkaConnectionFields).strict();
export type KafkaConnectionConfig = z.output<typeof kafkaConnectionSchema>;

/** What the Kafka client (@platformatic/kafka) takes for a connection. */
export interface KafkaClientConnection {
  clientId: string;
  bootstrapBrokers: string[];
  tls?: TlsConnectionOptions;
  sasl?: { mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512'; username: string; password: string };
}

const SASL_NAMES = { plain: 'PLAIN', 'scram-sha-256': 'SCRAM-SHA-256', 'scram-sha-512': 'SCRAM-SHA-512' } as const;

/**
 * The client's connection options, with the TLS files read and checked (a missing or unusable
 * file throws ExporterConfigError naming `<keyPrefix>.tls.<field>`).
 */
export async function kafkaClientConnection(config: KafkaConnectionConfig, keyPrefix: string): Promise<KafkaClientConnection> {
  const out: KafkaClientConnection = { clientId: config.client_id, bootstrapBrokers: [...config.brokers] };
  if (config.tls.enabled) {
    const material = await loadTls({ ...config.tls, insecure: false }, keyPrefix);
    out.tls = { ca: material.ca, cert: material.cert, key: material.key, rejectUnauthorized: material.rejectUnauthorized };
  }
  if (config.sasl) out.sasl = { mechanism: SASL_NAMES[config.sasl.mechanism], username: config.sasl.username, password: config.sasl.password };
  return out;
}
