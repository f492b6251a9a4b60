import { fileURLToPath } from 'node:url';
import { addHook, removeHook } from 'import-in-the-middle';
import type { ModuleFilter } from './filter.js';
import type { MethodTracer } from './method-tracer.js';
import { ModuleSource } from './source.js';
import { instrumentEsmNamespace, moduleNameOf } from './wrap.js';

export interface EsmHook {
  unhook(): void;
}

/**
 * Instruments ES modules as the import-in-the-middle loader hands over their
 * namespaces (the loader is registered by register.mjs, limited to modules the
 * filter may accept). Assigning to the namespace rebinds the export for every importer.
 */
export function installEsmHook(tracer: MethodTracer, filter: ModuleFilter, onError: (file: string, err: unknown) => void): EsmHook {
  const hook = (url: string, namespace: Record<string, unknown>): void => {
    if (!url.startsWith('file:')) return;
    let file: string;
    try {
      file = fileURLToPath(url);
    } catch {
      return;
    }
    if (!filter.matches(file)) return;
    try {
      instrumentEsmNamespace(tracer, namespace, { file, moduleName: moduleNameOf(file), source: ModuleSource.read(file) });
    } catch (err) {
      onError(file, err);
    }
  };
  addHook(hook);
  return { unhook: () => removeHook(hook) };
}
