export { prepareAgent, runningAgent, startAgent, type Agent, type AgentOptions, type PreparedAgent, type StartOptions } from './agent.js';
export { loadConfig, CONFIG_FILE, type AgentConfig, type Protocol, type SamplerName } from './config.js';
export { CORRELATION_BAGGAGE_KEY, CORRELATION_HEADERS } from './correlation.js';
export { CORRELATION_ATTRIBUTE } from './method-span.js';
export { AGENT_NAME, AGENT_VERSION } from './version.js';
