import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

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
