export { queueConfigSchema, type QueueConfig, type FullPolicy } from './config.js';
export { PersistentQueue, type PersistentQueueOptions } from './persistent-queue.js';
export { queueDirectory } from './directory.js';
export type { Clock } from './clock.js';
