import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/**
 * What follows `node` to run the CLI from the TypeScript sources, through tsx. Tests run the
 * sources rather than bin/tessera.js (which runs the build in dist/), so that they test the code
 * as it is now, never a stale build; test/ops/build.test.ts builds dist/ and starts that.
 */
export const CLI: readonly string[] = [
  '--import',
  // A file URL: a bare `tsx` would be resolved from the child's working directory.
  pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href,
  join(import.meta.dirname, '..', '..', 'src', 'main.ts'),
];

/** The answer of one CLI run: its exit code and what it printed. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * A CLI on a database of its own (a new SQLite file in a temporary folder), as an admin runs it:
 * a separate process on its settings, `env` added to them (NODE_ENV=production with a
 * TESSERA_SECRET, say: the same for every run, as the keys are sealed under it). `run` never
 * throws; `remove` deletes the folder.
 */
export function cliSandbox(
  prefix: string,
  settings: NodeJS.ProcessEnv = {},
): {
  run(args: string[]): Promise<CliResult>;
  remove(): void;
} {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: `sqlite:${join(dir, 'cli.sqlite')}`,
    TESSERA_DATA_DIR: dir,
    LOG_LEVEL: 'silent',
    NODE_ENV: 'test',
  };
  delete env.TESSERA_SECRET;
  Object.assign(env, settings);
  return {
    async run(args) {
      try {
        const { stdout, stderr } = await execFileAsync('node', [...CLI, ...args], { env });
        return { code: 0, stdout, stderr };
      } catch (error) {
        const e = error as CliResult;
        return { code: e.code, stdout: e.stdout, stderr: e.stderr };
      }
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
