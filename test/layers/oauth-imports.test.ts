import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sourceFiles, specifiers } from '../helpers/imports.js';

const SRC = resolve(import.meta.dirname, '../../src');

/** The layers above the protocol (DESIGN.md: `http → oauth | ui | admin → domain → store`). */
const ABOVE_OAUTH = ['http', 'ui', 'admin', 'api', 'cli', 'app.ts', 'main.ts'];

/** The imports of src/oauth that land in a layer above it, as "file → target". */
function upwardImports(): { count: number; offending: string[] } {
  let count = 0;
  const offending: string[] = [];
  for (const file of sourceFiles(join(SRC, 'oauth'))) {
    for (const spec of specifiers(readFileSync(file, 'utf8'))) {
      count += 1;
      if (!spec.startsWith('.')) continue;
      const target = relative(SRC, resolve(dirname(file), spec));
      const top = target.split(/[\\/]/)[0]!;
      if (ABOVE_OAUTH.includes(top) || ABOVE_OAUTH.includes(target.replace(/\.js$/, '.ts'))) {
        offending.push(`${relative(SRC, file)} → ${target}`);
      }
    }
  }
  return { count, offending };
}

describe('layers: src/oauth/ depends on nothing above it', () => {
  it('reads every kind of import, so that it can catch one', () => {
    const sample = [
      "import { a } from '../../http/session.js';",
      "import type { B } from '../ui/render.js';",
      "export { c } from '../admin/wire.js';",
      "import '../http/side-effect.js';",
      "const d = await import('../cli/x.js');",
      "import {\n  e,\n  f,\n} from './local.js';",
    ].join('\n');
    expect(specifiers(sample)).toEqual(
      expect.arrayContaining([
        '../../http/session.js',
        '../ui/render.js',
        '../admin/wire.js',
        '../http/side-effect.js',
        '../cli/x.js',
        './local.js',
      ]),
    );
  });

  it('no module of src/oauth/ imports http/, ui/, admin/, api/, cli/ or the app', () => {
    const { count, offending } = upwardImports();
    // The scan saw the protocol's imports (it did not pass by reading nothing).
    expect(count).toBeGreaterThan(50);
    expect(offending).toEqual([]);
  });
});
