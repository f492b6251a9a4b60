export { DEFAULT_KAFKA_TOPIC, kafkaExporterConfigSchema, topicSchema, type KafkaExporterConfig } from './config.js';
export { kafkaClientConnection, kafkaConnectionFields, kafkaConnectionSchema, type KafkaClientConnection, type KafkaConnectionConfig } from './connection-config.js';
export { classifyKafkaError } from './errors.js';
export { KafkaExporter } from './exporter.js';
export { kafkaExporterFactory } from './factory.js';
export { encodeKafkaRecords, KAFKA_RECORDS_ENCODING, splitKafkaRecords } from './records.js';
