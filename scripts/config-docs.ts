/*
 * Renders docs/configuration.md from the `settings` table in src/config.ts, so
 * the page can never drift from what the server accepts. Run `npm run docs:config`
 * after changing a setting; test/config-docs.test.ts fails until you do.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { settings } from '../src/config.js';

/** The fields of a setting the page shows; every entry of `settings` has this shape. */
interface DocSetting {
  env: string;
  kind: string;
  default?: string;
  doc: string;
  recommend?: string;
  values?: readonly string[];
  min?: number;
  max?: number;
}

export const CONFIG_DOCS_PATH = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  'docs',
  'configuration.md',
);

/** A table cell: pipes and line breaks would break the Markdown row. */
const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');

function accepted(setting: DocSetting): string | undefined {
  switch (setting.kind) {
    case 'int': {
      const { min, max } = setting;
      if (min !== undefined && max !== undefined) return `A whole number from ${min} to ${max}.`;
      if (min !== undefined) return `A whole number, at least ${min}.`;
      return 'A whole number.';
    }
    case 'bool':
      return '`true` or `false` (also `1`/`0`, `yes`/`no`, `on`/`off`).';
    case 'enum':
      return `One of ${(setting.values ?? []).map((v) => `\`${v}\``).join(', ')}.`;
    case 'url':
      if (setting.env === 'TESSERA_ISSUER') {
        return 'An http or https URL without query or fragment; a trailing slash is dropped.';
      }
      if (setting.env === 'TESSERA_REDIS_URL') return 'A `redis://` or `rediss://` URL.';
      return 'An absolute URL.';
    default:
      // Said once: some descriptions name the minimum themselves.
      if (setting.min === undefined || setting.doc.includes(`${setting.min} characters`)) {
        return undefined;
      }
      return `At least ${setting.min} characters.`;
  }
}

function row(setting: DocSetting): string {
  const fallback = setting.default === undefined ? '(unset)' : `\`${setting.default}\``;
  const description = [setting.doc, accepted(setting)].filter(Boolean).join(' ');
  return `| \`${setting.env}\` | ${cell(fallback)} | ${cell(description)} | ${cell(setting.recommend ?? '')} |`;
}

/** The whole page, as `npm run docs:config` writes it. */
export function renderConfigDocs(): string {
  const rows = (Object.values(settings) as readonly DocSetting[]).map(row);
  return `${[
    '# Configuration',
    '',
    '<!-- Generated from the `settings` table in src/config.ts by `npm run docs:config`. Do not edit by hand: a test compares the two. -->',
    '',
    'Tessera reads its settings from environment variables, once, at start. Every value is',
    'checked before anything listens: a bad one stops `tessera start` (and every other',
    '`tessera` command) with exit code 1 and one line naming the variable, for example',
    '',
    '```',
    'tessera: PORT: must be a whole number, got "abc"',
    '```',
    '',
    'An empty value counts as unset. The CLI commands read the same variables as the server,',
    'so `tessera user create` and `tessera migrate` work on the database the server uses.',
    '',
    '| Variable | Default | Description | Recommendation |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
    '## In development',
    '',
    'Nothing needs setting: `npm start` listens on http://localhost:9000, keeps its SQLite',
    'database in `./data/tessera.sqlite` and generates the instance secret into `./data/secret`',
    '(mode 0600) on first start, reusing it afterwards. Keep that file: it encrypts the signing',
    'keys stored in the database, which cannot be read with another secret.',
    '',
    '## In production',
    '',
    '```sh',
    'NODE_ENV=production \\',
    'TESSERA_ISSUER=https://id.example.com \\',
    'TESSERA_SECRET="$(cat /run/secrets/tessera-secret)" \\',
    'DATABASE_URL=postgres://tessera@db.internal:5432/tessera \\',
    'TESSERA_REDIS_URL=redis://cache.internal:6379 \\',
    'TESSERA_REQUIRE_PKCE=true \\',
    'npx tessera start',
    '```',
    '',
    '`NODE_ENV=production` refuses to start without `TESSERA_SECRET` and warns at start when',
    'the issuer is not https. Generate a secret with `openssl rand -base64 48` and give every',
    'instance of one Tessera the same one. See [operations.md](operations.md) for health checks,',
    'logs, shutdown and backups.',
  ].join('\n')}\n`;
}

// Run directly (npm run docs:config): write the page.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(CONFIG_DOCS_PATH, renderConfigDocs());
  process.stdout.write(`wrote ${CONFIG_DOCS_PATH}\n`);
}
