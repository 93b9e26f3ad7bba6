// @ts-check
/*
 * `npm run build`, which `npm install` and `npm ci` run too (the `prepare` script): compiles
 * src/ into dist/ with tsc (tsconfig.build.json), then copies beside the compiled modules the
 * files they read by path at run time (the views, the stylesheet, the password list): every file
 * of src/ that is not code. JavaScript, not TypeScript, so that it runs before anything is built.
 *
 * `--no-check` skips type checking (tsc --noCheck): the same files, in a third of the time, for
 * test/ops/build.test.ts, which runs after `npm test` has checked the types of everything.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const src = join(root, 'src');
const dist = join(root, 'dist');
/** What tsc emits itself (it compiles the .ts files and carries the .js ones over). */
const CODE = /\.(ts|js)$/;
/**
 * The browser's scripts (src/ui/assets/*.js): plain scripts the pages load, served as written.
 * tsconfig.json leaves them out (no DOM types there, and tsc would make them modules), so they
 * are copied like the stylesheet.
 */
const BROWSER_ASSETS = join(src, 'ui', 'assets');

let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  // `npm ci --omit=dev` runs `prepare` too, without TypeScript: a production install whose build
  // was made elsewhere (a Docker build stage) must not fail, nor lose the dist/ it was given.
  console.error(
    `build: TypeScript is not installed (--omit=dev?), so dist/ was not built${existsSync(dist) ? '; the dist/ already here is kept' : ''}. Build with the development dependencies, then \`npm prune --omit=dev\` (docs/operations.md).`,
  );
  process.exit(0);
}
// From nothing, so that a module deleted from src/ does not live on in dist/.
rmSync(dist, { recursive: true, force: true });
try {
  execFileSync(
    process.execPath,
    [
      tsc,
      '-p',
      'tsconfig.build.json',
      ...(process.argv.includes('--no-check') ? ['--noCheck'] : []),
    ],
    { cwd: root, stdio: 'inherit' },
  );
} catch {
  // tsc has printed the errors; a half-built dist/ must not be taken for a build.
  rmSync(dist, { recursive: true, force: true });
  console.error('build: tsc failed, dist/ removed');
  process.exit(1);
}
cpSync(src, dist, {
  recursive: true,
  filter: (path) =>
    statSync(path).isDirectory() || !CODE.test(path) || path.startsWith(BROWSER_ASSETS),
});
