/** What a `flowtrace` sub-command sees: its own arguments and where to write. */
export interface CommandIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export interface Command {
  /** The words that select it, e.g. `['traces', 'get']`. */
  path: string[];
  summary: string;
  /** Resolves to the process exit code: 0 ok, 1 failure, 2 usage or config error. */
  run(argv: string[], io: CommandIO): Promise<number>;
}

/** A mistake in the command line: printed with the usage, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
