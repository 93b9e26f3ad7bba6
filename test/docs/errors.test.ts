import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ERRORS,
  type ErrorCode,
  type ErrorDefinition,
  meaningOn,
  SURFACES,
  type Surface,
} from '../../src/error-catalogue.js';

const ROOT = join(import.meta.dirname, '../..');
const page = readFileSync(join(ROOT, 'docs/errors.md'), 'utf8');

/** The heading of each surface's section in docs/errors.md. */
const HEADINGS: Record<Surface, string> = {
  oauth: 'OAuth and OpenID Connect endpoints',
  admin: 'Admin API',
  account: 'Account API',
  pages: 'Pages',
};

interface Row {
  code: string;
  statuses: string;
  spec: string;
  meaning: string;
}

/** The table rows of each `## ` section of the page, by heading. */
function sections(): Map<string, Row[]> {
  const found = new Map<string, Row[]>();
  let rows: Row[] | undefined;
  for (const line of page.split('\n')) {
    const heading = /^## (.+)$/.exec(line);
    if (heading) {
      rows = [];
      found.set(heading[1]!, rows);
      continue;
    }
    const row = /^\| `([^`]+)` \| ([^|]+) \| ([^|]+) \| (.+) \|$/.exec(line);
    if (row && rows) {
      rows.push({ code: row[1]!, statuses: row[2]!, spec: row[3]!, meaning: row[4]! });
    }
  }
  return found;
}

const entries = Object.entries(ERRORS) as [ErrorCode, ErrorDefinition][];

const codesOn = (surface: Surface) =>
  entries.filter(([, entry]) => entry.surfaces[surface] !== undefined).map(([code]) => code);

/** Like Fastify's test of its errors docs: the catalogue and docs/errors.md agree, both ways. */
describe('docs/errors.md and the error catalogue', () => {
  it('has one section per surface, and no other section with a table of codes', () => {
    const withTables = [...sections()].filter(([, rows]) => rows.length > 0).map(([h]) => h);
    expect(withTables.sort()).toEqual(SURFACES.map((s) => HEADINGS[s]).sort());
  });

  describe.each(SURFACES)('%s', (surface) => {
    const rows = sections().get(HEADINGS[surface]) ?? [];

    it('lists every code of the catalogue answered here, once, and no other', () => {
      const listed = rows.map((r) => r.code);
      expect(new Set(listed).size, 'a code listed twice').toBe(listed.length);
      expect(listed).toEqual(codesOn(surface));
    });

    it("gives each code the catalogue's statuses, specification and meaning", () => {
      for (const row of rows) {
        const entry: ErrorDefinition | undefined = ERRORS[row.code as ErrorCode];
        expect(entry, `${row.code} is not in the catalogue`).toBeDefined();
        if (!entry) continue;
        expect(row.statuses, row.code).toBe(entry.surfaces[surface]?.join(', '));
        expect(row.spec, row.code).toBe(entry.spec ?? '–');
        expect(row.meaning, row.code).toBe(meaningOn(row.code as ErrorCode, surface));
      }
    });
  });

  it('answers every code of the catalogue somewhere, with its usual status among its statuses', () => {
    for (const [code, entry] of entries) {
      const statuses = SURFACES.flatMap((s) => entry.surfaces[s] ?? []);
      expect(statuses.length, `${code} is answered nowhere`).toBeGreaterThan(0);
      expect(statuses, code).toContain(entry.status);
      for (const surface of Object.keys(entry.notes ?? {}) as Surface[]) {
        expect(entry.surfaces[surface], `${code} has a note for ${surface}`).toBeDefined();
      }
    }
  });

  it('the other docs show only codes of the catalogue in their examples', () => {
    const pages = [
      join(ROOT, 'README.md'),
      ...readdirSync(join(ROOT, 'docs'))
        .filter((f) => f.endsWith('.md'))
        .map((f) => join(ROOT, 'docs', f)),
    ];
    const known = new Set<string>(Object.keys(ERRORS));
    for (const path of pages) {
      const text = readFileSync(path, 'utf8');
      const shown = [
        ...text.matchAll(/"error"\s*:\s*"([a-z_]+)"/g),
        ...text.matchAll(/[?&#]error=([a-z_]+)/g),
        ...text.matchAll(/`error`: `([a-z_]+)`/g),
      ].map((m) => m[1]!);
      for (const code of shown) expect(known, `${path} shows "${code}"`).toContain(code);
    }
  });
});
