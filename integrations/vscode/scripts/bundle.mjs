// Bundles the extension (src/vscode/extension.ts and everything it imports, the dashboard's
// trace model included) into one CommonJS file, dist/extension.js: the editor loads it with
// require(), and `vscode` is the one module it provides at run time.
import { build } from 'esbuild';
import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const BUNDLE = join(root, 'dist/extension.js');

await build({
  entryPoints: [join(root, 'src/vscode/extension.ts')],
  outfile: BUNDLE,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node18',
  external: ['vscode'],
  logLevel: 'warning',
  legalComments: 'none',
});
console.log(`bundled ${BUNDLE} (${statSync(BUNDLE).size} bytes)`);
