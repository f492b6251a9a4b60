/**
 * A reader of Server-Sent Events (the subset `/api/tail` writes: `event:` and `data:` fields,
 * comment lines, blank-line separators), for the CLI and tests. Follows the WHATWG parsing
 * rules for those fields: one optional space after the colon, several `data:` lines joined by
 * newlines, an event without `event:` is a `message`.
 */
export interface ServerSentEvent {
  event: string;
  data: string;
}

/** Longest event accepted: a peer that never ends its event cannot make the reader grow without bound. */
const MAX_EVENT_CHARS = 1024 * 1024;

export async function* readEvents(body: AsyncIterable<Uint8Array>): AsyncGenerator<ServerSentEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  let event = '';
  let data: string[] = [];
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    if (buffer.length > MAX_EVENT_CHARS && !buffer.includes('\n')) throw new Error(`server-sent event longer than ${MAX_EVENT_CHARS} characters`);
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline).replace(/\r$/, '');
      buffer = buffer.slice(newline + 1);
      if (line === '') {
        if (data.length > 0) yield { event: event || 'message', data: data.join('\n') };
        event = '';
        data = [];
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
  }
}
