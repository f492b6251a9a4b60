/**
 * The `exception` event of a method span that failed, written here rather than by the SDK's
 * recordException: that exports the message and stack as they are. The message is the error's
 * own, masked and cut like a captured value; the stack keeps at most MAX_FRAMES frames per error
 * and MAX_CAUSES causes, each header carrying the masked message. The rules and cases are shared
 * with the Java agent (agents/conformance/rendering/exceptions.json).
 */
import type { Attributes } from '@opentelemetry/api';
import { errorParts, formatText } from './serialize.js';

export const MAX_FRAMES = 64;
export const MAX_CAUSES = 4;
const FRAME = /^\s+at /;

export function exceptionAttributes(err: unknown, maxBytes: number): Attributes {
  if (!(err instanceof Error)) {
    let text = '';
    try {
      text = String(err);
    } catch {
      // A value whose conversion throws: no message.
    }
    return { 'exception.type': 'thrown', 'exception.message': formatText(text, maxBytes) };
  }
  const { name, message } = errorParts(err);
  const attributes: Attributes = { 'exception.type': errorType(err, name) };
  if (message !== undefined) attributes['exception.message'] = formatText(message, maxBytes);
  attributes['exception.stacktrace'] = stackTrace(err, maxBytes);
  return attributes;
}

/** The error's `code` when it has one as an own data property (`ECONNREFUSED`), else its name. */
function errorType(err: Error, name: string): string {
  const d = Object.getOwnPropertyDescriptor(err, 'code');
  return d !== undefined && 'value' in d && (typeof d.value === 'string' || typeof d.value === 'number') ? String(d.value) : name;
}

export function stackTrace(err: Error, maxBytes: number): string {
  let out = '';
  let e: unknown = err;
  for (let depth = 0; e instanceof Error && depth <= MAX_CAUSES; depth++) {
    const { name, message } = errorParts(e);
    out += `${depth > 0 ? 'Caused by: ' : ''}${name}${message === undefined ? '' : `: ${formatText(message, maxBytes)}`}\n`;
    const frames = framesOf(e);
    for (const frame of frames.slice(0, MAX_FRAMES)) out += `${frame}\n`;
    if (frames.length > MAX_FRAMES) out += `    ... ${frames.length - MAX_FRAMES} more\n`;
    const d = Object.getOwnPropertyDescriptor(e, 'cause');
    e = d !== undefined && 'value' in d && d.value !== e ? d.value : undefined;
  }
  return out;
}

/** The `    at …` lines of the error's stack (the message lines before them are the header, rebuilt masked). */
function framesOf(e: Error): string[] {
  let stack: unknown;
  try {
    stack = e.stack;
  } catch {
    return [];
  }
  return typeof stack === 'string' ? stack.split('\n').filter((line) => FRAME.test(line)) : [];
}
