import { readFileSync } from 'node:fs';

/**
 * Where functions are defined. The text of a function (Function.prototype.toString)
 * is looked up in its module's source: found, it gives `code.line.number` and
 * proves the function was written in that module (and not re-exported from a
 * package); not found (transpiled on the fly, built at run time), there is no line.
 */
export class ModuleSource {
  private lineStarts: number[] | undefined;

  constructor(
    readonly file: string,
    private readonly text: string | undefined,
  ) {}

  static read(file: string, compiled?: string): ModuleSource {
    if (compiled !== undefined) return new ModuleSource(file, compiled);
    try {
      return new ModuleSource(file, readFileSync(file, 'utf8'));
    } catch {
      return new ModuleSource(file, undefined);
    }
  }

  /** The 1-based line where `fn` is defined in this module, or undefined when its text is not here. */
  lineOf(fn: Function): number | undefined {
    if (this.text === undefined) return undefined;
    let src: string;
    try {
      src = Function.prototype.toString.call(fn);
    } catch {
      return undefined;
    }
    if (src.endsWith('{ [native code] }')) return undefined;
    const at = this.text.indexOf(src);
    return at < 0 ? undefined : this.lineAt(at);
  }

  private lineAt(offset: number): number {
    const starts = (this.lineStarts ??= computeLineStarts(this.text ?? ''));
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  }
}

function computeLineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}
