import { join } from 'node:path';

/**
 * `<dataDir>/queues/<name>`, the exporter's name made a single safe path segment: `/` becomes
 * `~` (`otlp/honeycomb` → `otlp~honeycomb`) and any other character outside [A-Za-z0-9._-]
 * becomes %XX, so that distinct names never share a directory.
 */
export function queueDirectory(dataDir: string, exporterName: string): string {
  if (exporterName === '' || exporterName === '.' || exporterName === '..') throw new Error(`invalid exporter name for a queue directory: '${exporterName}'`);
  const safe = Array.from(Buffer.from(exporterName, 'utf8'))
    .map((b) => {
      const c = String.fromCharCode(b);
      if (/[A-Za-z0-9._-]/.test(c)) return c;
      if (c === '/') return '~';
      return `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');
  return join(dataDir, 'queues', safe);
}
