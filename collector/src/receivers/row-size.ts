import type { Attributes, InstrumentationScope, Resource, Span } from '../model/span.js';
import { RequestTooLargeError } from './otlp/errors.js';

/**
 * The object path's check of what a request will take as storage rows (the transcoder counts
 * its rows exactly, rowbinary-transcoder.ts): every row repeats its resource's and scope's
 * attributes, so a request's rows are about its own size plus, per span, the text of its
 * resource and scope. Checked at ingest, before anything is held or encoded: encoding such a
 * request later (in the fan-out, after stitching) would try to allocate gigabytes. Log records
 * (collector/src/logs/) are rows of the same shape and are checked alike; `noun` names what
 * a row holds in the refusal (`span`, or LOG_RECORD from the logs path).
 */
export function checkRowBytes(spans: ReadonlyArray<Pick<Span, 'resource' | 'scope'>>, requestBytes: number, limitBytes: number | undefined, noun = 'span'): void {
  if (limitBytes === undefined || spans.length === 0) return;
  let total = requestBytes;
  let resource: Resource | undefined;
  let scope: InstrumentationScope | undefined;
  let perSpan = 0;
  let resourceBytes = 0;
  let scopeBytes = 0;
  for (const span of spans) {
    if (span.resource !== resource || span.scope !== scope) {
      if (span.resource !== resource) {
        resource = span.resource;
        resourceBytes = attributeChars(resource.attributes) + resource.schemaUrl.length;
      }
      if (span.scope !== scope) {
        scope = span.scope;
        scopeBytes = attributeChars(scope.attributes) + scope.name.length + scope.version.length + scope.schemaUrl.length;
      }
      perSpan = resourceBytes + scopeBytes;
    }
    total += perSpan;
    if (total > limitBytes) throw new RequestTooLargeError(total, limitBytes, noun);
  }
}

/** UTF-16 units of keys and values: what a row holds of them, within a factor of 3 for non-ASCII text. */
function attributeChars(attributes: Attributes): number {
  let n = 0;
  for (const key in attributes) n += key.length + attributes[key]!.length;
  return n;
}
