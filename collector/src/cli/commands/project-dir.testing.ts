/**
 * For the tests of commands that look at a project folder (`flowtrace init node|java`): a temp
 * project made file by file, and the command run against it with its output captured.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Command } from '../command.js';

/** Writes `content` to `rel` under `dir`, creating folders. */
export function writeProjectFile(dir: string, rel: string, content: string): void {
  const file = join(dir, rel);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, content);
}

export function outputSink(): { stream: Writable; text(): string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

/** Runs `command` with `argv` in `cwd` (no environment), capturing stdout and stderr. */
export async function runInProject(command: Command, argv: string[], cwd: string): Promise<{ code: number; out: string; err: string }> {
  const out = outputSink();
  const err = outputSink();
  const code = await command.run(argv, { stdout: out.stream, stderr: err.stream, env: {}, cwd });
  return { code, out: out.text(), err: err.text() };
}
