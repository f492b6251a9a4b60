import Module from 'node:module';
import { Hook } from 'require-in-the-middle';
import type { ModuleFilter } from './filter.js';
import type { MethodTracer } from './method-tracer.js';
import { ModuleSource } from './source.js';
import { instrumentCjsExports, moduleNameOf } from './wrap.js';

/**
 * require-in-the-middle reports a file outside node_modules only when its
 * absolute path is in the list it is given; this list answers `includes()` with
 * the module filter instead, and remembers the file it last accepted (the hook
 * runs right after, synchronously).
 */
class FilterList extends Array<string> {
  moduleFilter: ModuleFilter | undefined;
  lastAccepted: string | undefined;

  override includes(name: string): boolean {
    if (this.moduleFilter === undefined || !(name.startsWith('/') || /^[A-Za-z]:[\\/]/.test(name))) return false;
    if (!this.moduleFilter.matches(name)) return false;
    this.lastAccepted = name;
    return true;
  }
}

interface Compilable {
  _compile(content: string, filename: string): unknown;
}

export interface CjsHook {
  unhook(): void;
}

export function installCjsHook(tracer: MethodTracer, filter: ModuleFilter, onError: (file: string, err: unknown) => void): CjsHook {
  // The source V8 compiles, for files that match: what a transpiling loader
  // (ts-node…) produced rather than what is on disk, so function text is found.
  const compiled = new Map<string, string>();
  const proto = Module.prototype as unknown as Compilable;
  const originalCompile = proto._compile;
  const compileHook = function (this: Compilable, content: string, filename: string): unknown {
    if (filter.matches(filename)) compiled.set(filename, content);
    return originalCompile.call(this, content, filename);
  };
  proto._compile = compileHook;

  const list = new FilterList();
  list.moduleFilter = filter;
  // RITM types the hook as returning its input's type; a wrapped function export is one.
  const onRequire = <T>(exports: T): T => instrument(exports) as T;
  const instrument = (exports: unknown): unknown => {
    const file = list.lastAccepted;
    list.lastAccepted = undefined;
    if (file === undefined) return exports;
    const source = ModuleSource.read(file, compiled.get(file));
    compiled.delete(file);
    try {
      return instrumentCjsExports(tracer, exports, { file, moduleName: moduleNameOf(file), source });
    } catch (err) {
      onError(file, err);
      return exports;
    }
  };
  const hook = new Hook(list, { internals: true }, onRequire);

  return {
    unhook() {
      hook.unhook();
      if (proto._compile === compileHook) proto._compile = originalCompile;
      compiled.clear();
    },
  };
}
