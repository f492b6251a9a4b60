export interface PythonInstall {
  version: string;
  python: string;
}
export const AGENT_DIR: string;
export const CACHE_DIR: string;
export function supportedPythons(): PythonInstall[];
export function oldestAndNewest(): PythonInstall[];
export function ensureVenv(install: PythonInstall, log?: (line: string) => void): string;
