import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sourceFiles, specifiers } from '../helpers/imports.js';

const SRC = resolve(import.meta.dirname, '../../src');
/** The packages the kit may use: what an API that installs Tessera's kit gets anyway. */
const PACKAGES = ['jose', 'lru-cache', 'fastify'];

describe('layers: src/resource/ stands alone', () => {
  it('imports only its own modules, node: built-ins, jose, lru-cache and fastify (types)', () => {
    const offending: string[] = [];
    let count = 0;
    for (const file of sourceFiles(join(SRC, 'resource'))) {
      // Without the doc comments, whose examples import the kit as its users do.
      const code = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
      for (const spec of specifiers(code)) {
        count += 1;
        const ok = spec.startsWith('.')
          ? !relative(join(SRC, 'resource'), resolve(dirname(file), spec)).startsWith('..')
          : spec.startsWith('node:') || PACKAGES.includes(spec);
        if (!ok) offending.push(`${relative(SRC, file)} → ${spec}`);
      }
    }
    // The kit runs in someone else's API: Tessera's server code (config, store, app) is not there.
    expect(count).toBeGreaterThan(15);
    expect(offending).toEqual([]);
  });
});
