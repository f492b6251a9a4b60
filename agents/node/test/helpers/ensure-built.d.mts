/** agents/node */
export declare const AGENT_DIR: string;
/** dist/src/register.js, for `--require`. */
export declare const REGISTER_CJS: string;
/** dist/src/register.mjs, for `--import`. */
export declare const REGISTER_ESM: string;
/** Compiles the agent unless dist is newer than its sources; safe to call from parallel test files. */
export declare function ensureAgentBuilt(): Promise<void>;
