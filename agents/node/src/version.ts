/** Kept equal to package.json's version (a test checks). */
export const AGENT_VERSION = '0.1.0';
export const AGENT_NAME = '@flowtrace/agent-node';
