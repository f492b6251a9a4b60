import { isAbsolute, relative, resolve, sep } from 'node:path';
import { ConfigError } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import { Keyring, KeyringError, loadKeyring } from './keyring.js';

/** Whether `path` is `dir` or inside it. */
function inside(dir: string, path: string): boolean {
  const rel = relative(resolve(dir), resolve(path));
  // `..` as the first component, not as a prefix: `<data_dir>/..spans` is inside.
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/**
 * The keyring `storage.encryption` describes (undefined: off), after checking that nothing
 * configured would write span content in the clear under the data directory: the `file`
 * exporter writes plain JSON Lines by design, so with encryption on its directory must be
 * elsewhere. Problems are ConfigErrors naming the key (exit 2).
 */
export function atRestKeyring(config: Config, env: NodeJS.ProcessEnv = process.env): Keyring | undefined {
  let keyring: Keyring | undefined;
  try {
    keyring = loadKeyring(config.storage.encryption, env);
  } catch (err) {
    if (err instanceof KeyringError) throw new ConfigError(err.key, err.problem);
    throw err;
  }
  if (!keyring) return undefined;
  for (const e of config.exporters) {
    const directory = (e.config as { directory?: unknown } | undefined)?.directory;
    if (e.type === 'file' && typeof directory === 'string' && inside(config.storage.data_dir, directory)) {
      throw new ConfigError(
        `exporters.${e.name}.directory`,
        'is inside storage.data_dir, which storage.encryption keeps free of readable span content: the file exporter writes plain JSON Lines by design; give it a directory outside the data directory',
      );
    }
  }
  return keyring;
}
