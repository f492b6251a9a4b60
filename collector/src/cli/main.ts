import { UsageError, type Command, type CommandIO } from './command.js';
import { alertsCommand } from './commands/alerts.js';
import { analyzeCommand } from './commands/analyze.js';
import { assertCommand } from './commands/assert.js';
import { reportCommand } from './commands/report.js';
import { benchCommand } from './commands/bench.js';
import { backupCommand } from './commands/backup.js';
import { restoreCommand } from './commands/restore.js';
import { anomaliesCommand } from './commands/anomalies.js';
import { doctorCommand } from './commands/doctor.js';
import { exportCommand } from './commands/export.js';
import { dropsCommand } from './commands/drops.js';
import { hotspotsCommand } from './commands/hotspots.js';
import { initJavaCommand } from './commands/init-java.js';
import { initNodeCommand } from './commands/init-node.js';
import { initPythonCommand } from './commands/init-python.js';
import { logsCommand } from './commands/logs.js';
import { mcpCommand } from './commands/mcp.js';
import { queryCommand } from './commands/query.js';
import { redCommand } from './commands/red.js';
import { searchCommand } from './commands/search.js';
import { serveCommand } from './commands/serve.js';
import { tailCommand } from './commands/tail.js';
import { tokensCreateCommand, tokensListCommand, tokensRevokeCommand } from './commands/tokens.js';
import { traceExportCommand } from './commands/trace-export.js';
import { traceImportCommand } from './commands/trace-import.js';
import { tracesGetCommand } from './commands/traces-get.js';
import { visualizeCommand } from './commands/visualize.js';
import { waterfallCommand } from './commands/waterfall.js';

export const COMMANDS: readonly Command[] = [
  serveCommand,
  queryCommand,
  tracesGetCommand,
  logsCommand,
  searchCommand,
  analyzeCommand,
  redCommand,
  hotspotsCommand,
  anomaliesCommand,
  alertsCommand,
  assertCommand,
  reportCommand,
  waterfallCommand,
  visualizeCommand,
  traceExportCommand,
  traceImportCommand,
  exportCommand,
  dropsCommand,
  backupCommand,
  restoreCommand,
  doctorCommand,
  tokensCreateCommand,
  tokensListCommand,
  tokensRevokeCommand,
  initNodeCommand,
  initJavaCommand,
  initPythonCommand,
  mcpCommand,
  tailCommand,
  benchCommand,
];

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.path.join(' ').length));
  return `Usage: flowtrace <command> [options]

FlowTrace: OpenTelemetry-compatible distributed tracing down to the method, stored in ClickHouse.

Commands:
${COMMANDS.map((c) => `  ${c.path.join(' ').padEnd(width)}  ${c.summary}`).join('\n')}

Run 'flowtrace <command> --help' for a command's options.
`;
}

/** Picks the command whose words the arguments start with; the longest match wins. */
function findCommand(argv: string[]): { command: Command; rest: string[] } | undefined {
  const matches = COMMANDS.filter((c) => c.path.every((word, i) => argv[i] === word)).sort((a, b) => b.path.length - a.path.length);
  const command = matches[0];
  return command && { command, rest: argv.slice(command.path.length) };
}

export async function main(argv: string[], io: CommandIO): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    io.stdout.write(usage());
    return argv.length === 0 ? 2 : 0;
  }
  const found = findCommand(argv);
  if (!found) {
    io.stderr.write(`flowtrace: unknown command '${argv.join(' ')}'\n\n${usage()}`);
    return 2;
  }
  try {
    return await found.command.run(found.rest, io);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr.write(`flowtrace ${found.command.path.join(' ')}: ${err.message}\nRun 'flowtrace ${found.command.path.join(' ')} --help' for usage.\n`);
    return 2;
  }
}

/** Entry point for bin/flowtrace.js. */
export async function run(): Promise<void> {
  const code = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() });
  process.exitCode = code;
  if (process.argv[2] === 'serve') process.exit(code);
}
