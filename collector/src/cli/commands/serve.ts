import { pino } from 'pino';
import { ExporterConfigError } from '../../../../exporters/exporter.js';
import { AuthConfigError } from '../../auth/bootstrap.js';
import { Collector } from '../../collector.js';
import { DataDirLock } from '../../data-dir-lock.js';
import { ConfigError, SHORTCUTS, loadConfig } from '../../config/load.js';
import { parseCommandArgs } from '../args.js';
import type { Command } from '../command.js';

const USAGE = `Usage: flowtrace serve [options]

Starts the collector: OTLP receivers, storage (embedded ClickHouse unless a server URL is set)
and the query API. Every option is also an environment variable; a YAML file can set all keys.

Options:
  --config FILE            YAML configuration file (env FLOWTRACE_CONFIG)
${SHORTCUTS.map((s) => `  --${`${s.flag} VALUE`.padEnd(23)} ${s.help} (env ${s.env})`).join('\n')}
  --bootstrap-token-file FILE
                           the first admin API token: registered from FILE, or created there
                           (mode 0600) when FILE does not exist (env FLOWTRACE_AUTH_BOOTSTRAP_TOKEN_FILE)
  -h, --help               show this help
`;

export const serveCommand: Command = {
  path: ['serve'],
  summary: 'start the collector',
  async run(argv, io) {
    const options = {
      config: { type: 'string' },
      'bootstrap-token-file': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      ...Object.fromEntries(SHORTCUTS.map((s) => [s.flag, { type: 'string' }])),
    } as const;
    const { values, positionals } = parseCommandArgs(argv, options);
    if (values.help) {
      io.stdout.write(USAGE);
      return 0;
    }
    if (positionals.length > 0) {
      io.stderr.write(`flowtrace serve: unexpected argument '${positionals[0]}'\n\n${USAGE}`);
      return 2;
    }
    const flags = values as Record<string, string | boolean | undefined>;
    let config;
    try {
      config = loadConfig({
        file: (flags.config as string | undefined) ?? io.env.FLOWTRACE_CONFIG,
        env: io.env,
        overrides: [
          ...SHORTCUTS.filter((s) => typeof flags[s.flag] === 'string').map((s) => ({
            path: s.path,
            value: flags[s.flag] as string,
            source: `--${s.flag}`,
          })),
          ...(typeof flags['bootstrap-token-file'] === 'string'
            ? [{ path: 'auth.bootstrap_token_file', value: flags['bootstrap-token-file'], source: '--bootstrap-token-file' }]
            : []),
        ],
      });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      io.stderr.write(`flowtrace serve: configuration error: ${err.message}\n`);
      return 2;
    }

    const logger = pino({ level: config.log.level, base: { service: 'flowtrace-collector', pid: process.pid } });
    // Everything the collector creates (data, queues, spool, chdb's own files) is private to its user.
    process.umask(0o077);
    const lock = new DataDirLock(config.storage.data_dir);
    let collector: Collector;
    try {
      lock.acquire();
      collector = new Collector(config, logger);
    } catch (err) {
      lock.release();
      // Settings checked while building the collector (certificate files of a port) are config errors too.
      if (err instanceof ConfigError) {
        io.stderr.write(`flowtrace serve: configuration error: ${err.message}\n`);
        return 2;
      }
      io.stderr.write(`flowtrace serve: cannot start: ${(err as Error).message.split('\n')[0]}\n`);
      return 1;
    }
    // Signals are handled from before the start: a SIGTERM that arrives while starting, or just
    // after "collector ready" while other start-up work still holds the event loop, stops the
    // collector gracefully once it has started — with no handler yet, the default action would
    // kill it with whatever it held.
    let pendingSignal: string | undefined;
    let onSignal = (signal: string) => {
      if (pendingSignal === undefined) {
        pendingSignal = signal;
        logger.info({ signal }, 'signal received while starting: stopping once started (again to exit now)');
        return;
      }
      // A start that hangs (a ClickHouse server not answering) must not make the process unkillable.
      logger.warn({ signal }, 'second signal while starting: exiting');
      process.exit(1);
    };
    const onSigterm = () => onSignal('SIGTERM');
    const onSigint = () => onSignal('SIGINT');
    process.on('SIGTERM', onSigterm);
    process.on('SIGINT', onSigint);
    try {
      await collector.start();
    } catch (err) {
      process.off('SIGTERM', onSigterm);
      process.off('SIGINT', onSigint);
      await collector.shutdown().catch(() => undefined);
      lock.release();
      // Settings only checkable at start (an exporter's certificate files) are config errors too.
      if (err instanceof ExporterConfigError || err instanceof AuthConfigError) {
        io.stderr.write(`flowtrace serve: configuration error: ${err.message}\n`);
        return 2;
      }
      logger.fatal({ err }, 'collector failed to start');
      return 1;
    }
    return new Promise<number>((resolve) => {
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) {
          logger.warn({ signal }, 'second signal: exiting without waiting for the flush');
          resolve(1);
          return;
        }
        stopping = true;
        logger.info({ signal }, 'signal received');
        collector.shutdown().then(
          () => {
            lock.release();
            resolve(0);
          },
          (err: unknown) => {
            logger.error({ err }, 'shutdown failed');
            resolve(1);
          },
        );
      };
      onSignal = stop;
      if (pendingSignal !== undefined) stop(pendingSignal);
      // A bug in one request must not take the collector (and what it holds) down.
      process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));
    });
  },
};
