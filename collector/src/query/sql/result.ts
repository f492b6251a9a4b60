import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Reads a guest result streamed as `JSONCompactEachRowWithNamesAndTypes` text chunks (a names
 * line, a types line, one JSON array per row), one line at a time, and stops reading — which
 * cancels the query — once the row or byte limit is reached. No chunk is parsed whole, and
 * the event loop gets a turn between chunks, so a large result never stalls other requests.
 */
export interface ReadLimits {
  maxRows: number;
  /** UTF-8 bytes of row lines kept at most. */
  maxBytes: number;
}

export interface ReadResult {
  columns: Array<{ name: string; type: string }>;
  rows: Array<Record<string, unknown>>;
  /** True when rows or bytes beyond the limits were left out. */
  truncated: boolean;
}

export async function readResult(chunks: AsyncIterable<string>, limits: ReadLimits): Promise<ReadResult> {
  let names: string[] | undefined;
  let columns: ReadResult['columns'] | undefined;
  const rows: Array<Record<string, unknown>> = [];
  let bytes = 0;
  let pending = '';
  const take = (line: string): boolean => {
    if (line === '') return true;
    if (!names) {
      names = JSON.parse(line) as string[];
      return true;
    }
    if (!columns) {
      const types = JSON.parse(line) as string[];
      columns = names.map((name, i) => ({ name, type: types[i] ?? '' }));
      return true;
    }
    bytes += Buffer.byteLength(line);
    if (rows.length >= limits.maxRows || bytes > limits.maxBytes) return false;
    const values = JSON.parse(line) as unknown[];
    const row: Record<string, unknown> = {};
    names.forEach((name, i) => (row[name] = values[i]));
    rows.push(row);
    return true;
  };
  for await (const chunk of chunks) {
    pending += chunk;
    let start = 0;
    for (let end = pending.indexOf('\n', start); end !== -1; end = pending.indexOf('\n', start)) {
      // Leaving the loop returns the iterator, which cancels the query.
      if (!take(pending.slice(start, end))) return { columns: columns ?? [], rows, truncated: true };
      start = end + 1;
    }
    pending = pending.slice(start);
    await nextTurn();
  }
  if (pending !== '' && !take(pending)) return { columns: columns ?? [], rows, truncated: true };
  return { columns: columns ?? [], rows, truncated: false };
}
