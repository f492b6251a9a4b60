import { ApiError, apiCredential, apiUrl, callApi, CONNECTION_HELP } from '../api-client.js';
import { parseCommandArgs } from '../args.js';
import { UsageError, type Command } from '../command.js';
import { formatCsv, formatTable } from '../format.js';
import type { UserSqlResult } from '../../query/sql/user-sql.js';

const USAGE = `Usage: flowtrace query [options] "SQL"

Runs read-only SQL on the collector's ClickHouse (table otel_traces) through its query API.

Options:
${CONNECTION_HELP}
  --format FORMAT      table (default), json or csv
  -h, --help           show this help
`;

const FORMATS = ['table', 'json', 'csv'] as const;

export const queryCommand: Command = {
  path: ['query'],
  summary: 'run read-only SQL against a running collector',
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, {
      api: { type: 'string' },
      'token-file': { type: 'string' },
      format: { type: 'string', default: 'table' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      io.stdout.write(USAGE);
      return 0;
    }
    const format = values.format as (typeof FORMATS)[number];
    if (!FORMATS.includes(format)) throw new UsageError(`--format: expected one of ${FORMATS.join(', ')}, got '${values.format}'`);
    if (positionals.length !== 1) throw new UsageError('expected exactly one SQL statement (quote it)');
    const token = apiCredential(values['token-file'], io.env);
    try {
      const result = await callApi<UserSqlResult>(apiUrl(values.api, io.env), '/api/sql', { method: 'POST', body: { query: positionals[0] }, token });
      const columns = result.columns.map((c) => c.name);
      if (format === 'json') io.stdout.write(JSON.stringify(result.rows, null, 2) + '\n');
      else if (format === 'csv') io.stdout.write(formatCsv(columns, result.rows));
      else io.stdout.write(formatTable(columns, result.rows) + `(${result.rowCount} rows, ${result.elapsedMs} ms)\n`);
      if (result.truncated) io.stderr.write(`flowtrace query: only the first ${result.rowCount} rows are shown (the collector's api.sql.max_rows)\n`);
      return 0;
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      io.stderr.write(`flowtrace query: ${err.message}\n`);
      return 1;
    }
  },
};
