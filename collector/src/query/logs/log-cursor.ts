import { MAX_NS, QueryParamError } from '../params.js';

export type LogOrder = 'asc' | 'desc';

/** Where the next page starts: at `timeNs`, after the `skip` records already returned at exactly that time. */
export interface LogCursor {
  timeNs: bigint;
  skip: number;
  order: LogOrder;
}

/** More records sharing one timestamp than any page could have walked past (bounds the OFFSET). */
const MAX_SKIP = 10_000_000;
const MAX_CURSOR_LENGTH = 128;

/** Opaque to callers: `<order>.<ns>.<skip>`, base64url. */
export function encodeLogCursor(cursor: LogCursor): string {
  return Buffer.from(`${cursor.order}.${cursor.timeNs}.${cursor.skip}`).toString('base64url');
}

/** The cursor of a previous page, checked strictly; QueryParamError (400) naming `cursor` otherwise. */
export function parseLogCursor(text: string, order: LogOrder): LogCursor {
  const problem = (why: string) => new QueryParamError(`cursor: ${why}; pass the nextCursor of the previous answer unchanged`);
  if (text.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(text)) throw problem('not a cursor of this API');
  const match = /^(asc|desc)\.(\d{1,19})\.(\d{1,8})$/.exec(Buffer.from(text, 'base64url').toString('latin1'));
  if (!match) throw problem('not a cursor of this API');
  const timeNs = BigInt(match[2]!);
  const skip = Number(match[3]);
  if (timeNs > MAX_NS || skip < 1 || skip > MAX_SKIP) throw problem('out of range');
  if (match[1] !== order) throw problem(`it continues order=${match[1]}, not order=${order}`);
  return { timeNs, skip, order };
}
