/**
 * Parameter names read from a function's source, so that an argument bound to
 * a parameter called `password` or `token` is masked like an object key would be.
 * Destructured and unparseable parameters have no name (undefined).
 */
export function parameterNames(fn: Function): (string | undefined)[] {
  let src: string;
  try {
    src = Function.prototype.toString.call(fn);
  } catch {
    return [];
  }
  const arrow = /^(?:async\s+)?([A-Za-z_$][\w$]*)\s*=>/.exec(src);
  if (arrow) return [arrow[1]];
  const open = src.indexOf('(');
  if (open < 0) return [];
  const list = balancedParens(src, open);
  if (list === undefined) return [];
  return splitTopLevel(list).map(paramName);
}

/** The text between the parenthesis at `open` and its match, skipping strings and comments. */
function balancedParens(src: string, open: number): string | undefined {
  let depth = 0;
  for (let i = open; i < src.length; i++) {
    const c = src[i];
    if (c === '"' || c === "'" || c === '`') {
      i = skipString(src, i);
    } else if (c === '/' && src[i + 1] === '/') {
      const nl = src.indexOf('\n', i);
      i = nl < 0 ? src.length : nl;
    } else if (c === '/' && src[i + 1] === '*') {
      const end = src.indexOf('*/', i + 2);
      i = end < 0 ? src.length : end + 1;
    } else if (c === '(' || c === '[' || c === '{') {
      depth++;
    } else if (c === ')' || c === ']' || c === '}') {
      depth--;
      if (depth === 0) return src.slice(open + 1, i);
    }
  }
  return undefined;
}

function skipString(src: string, start: number): number {
  const quote = src[start];
  for (let i = start + 1; i < src.length; i++) {
    if (src[i] === '\\') i++;
    else if (src[i] === quote) return i;
  }
  return src.length;
}

function splitTopLevel(list: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let from = 0;
  for (let i = 0; i < list.length; i++) {
    const c = list[i];
    if (c === '"' || c === "'" || c === '`') i = skipString(list, i);
    else if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(list.slice(from, i));
      from = i + 1;
    }
  }
  const last = list.slice(from);
  if (last.trim() !== '') parts.push(last);
  return parts;
}

function paramName(part: string): string | undefined {
  const cleaned = part.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '').trim();
  const m = /^(?:\.\.\.)?\s*([A-Za-z_$][\w$]*)/.exec(cleaned);
  return m ? m[1] : undefined;
}
