// `node --import @flowtrace/agent-node/register app.mjs`: registers the
// import-in-the-middle loader (limited to modules the filter may accept, plus
// those the instrumentations ask for) and starts the agent for CommonJS and ESM.
// Given with `--require` too, the agent is already running: it gains the ESM hook.
import { register } from 'node:module';
import { fileURLToPath } from 'node:url';
import iitm from 'import-in-the-middle';
import agentModule from './agent.js';

const ACK_TIMEOUT_MS = 5000;

type LoaderData = Record<string, unknown>;
type Channel = ReturnType<typeof iitm.createAddHookMessageChannel<LoaderData>>;

/** Registers the loader; false (after one warning) when this Node.js refuses it. */
function registerLoader(patterns: RegExp[], channel: Channel): boolean {
  try {
    const data: LoaderData = { ...channel.registerOptions.data, include: patterns };
    register('import-in-the-middle/hook.mjs', import.meta.url, { data, transferList: channel.registerOptions.transferList });
    return true;
  } catch (err) {
    process.stderr.write(`${agentModule.WARNING_PREFIX} ES modules run untraced, the loader hook failed: ${(err as Error).message}\n`);
    return false;
  }
}

/** The instrumentations' module lists reach the loader thread by message: wait for them before the application imports anything. */
async function acknowledged(channel: Channel): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    channel.waitForAllMessagesAcknowledged(),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ACK_TIMEOUT_MS);
      timer.unref();
    }),
  ]);
  clearTimeout(timer);
}

const running = agentModule.runningAgent();
if (running !== undefined) {
  if (!running.esm) {
    const channel = iitm.createAddHookMessageChannel<LoaderData>();
    if (registerLoader(running.filter.loaderPatterns(), channel)) {
      running.enableEsm();
      await acknowledged(channel);
    }
  }
} else {
  const prepared = agentModule.prepareAgent({ agentDir: fileURLToPath(new URL('../', import.meta.url)) });
  if (prepared !== undefined) {
    const channel = iitm.createAddHookMessageChannel<LoaderData>();
    const esm = registerLoader(prepared.filter.loaderPatterns(), channel);
    const agent = prepared.start({ esm });
    if (agent !== undefined && esm) await acknowledged(channel);
  }
}
