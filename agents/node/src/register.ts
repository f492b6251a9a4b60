// `node --require @flowtrace/agent-node/register app.js`: starts the agent before
// the application's first require. ES modules need `--import` (register.mjs).
import { resolve } from 'node:path';
import { startAgent } from './agent.js';

startAgent({ agentDir: resolve(__dirname, '..') });
