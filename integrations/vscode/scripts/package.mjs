// Builds the .vsix: the bundle (scripts/bundle.mjs), then `vsce package` on this folder.
// Dependencies are in the bundle (`--no-dependencies`); .vscodeignore keeps the package to the
// bundle, the manifest and the README. Prints the .vsix path.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const out = join(root, 'dist', `${manifest.name}-${manifest.version}.vsix`);

execFileSync(process.execPath, [join(root, 'scripts/bundle.mjs')], { stdio: 'inherit' });
const vsce = join(dirname(createRequire(import.meta.url).resolve('@vscode/vsce/package.json')), 'vsce');
execFileSync(process.execPath, [vsce, 'package', '--no-dependencies', '--allow-missing-repository', '--skip-license', '--out', out], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
console.log(out);
