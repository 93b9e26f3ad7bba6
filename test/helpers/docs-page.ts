import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll } from 'vitest';
import { CLI } from './cli.js';
import { type Relay, relay } from './tcp-proxy.js';
import { startTessera, type TesseraProcess } from './tessera-process.js';

const ROOT = join(import.meta.dirname, '../..');

/** How long a page's walkthrough may take: its steps run one process after another. */
export const WALKTHROUGH_TIMEOUT = 120_000;

/** The shell blocks of a docs page, in order; of one `## section` of it only, when given. */
export function shellBlocks(page: string, section?: string): string[] {
  let text = readFileSync(join(ROOT, 'docs', page), 'utf8');
  if (section !== undefined) {
    const start = text.indexOf(`\n## ${section}\n`);
    if (start < 0) throw new Error(`docs/${page} has no section "## ${section}"`);
    const end = text.indexOf('\n## ', start + 1);
    text = text.slice(start, end < 0 ? undefined : end);
  }
  return [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

export interface DocsPageOptions {
  /** The scripts the page writes import packages (jose, oauth4webapi) as from the repository. */
  nodeModules?: boolean;
  /** Settings of the server (and the page's shell) besides the defaults. */
  env?: NodeJS.ProcessEnv;
  /** Settings of the page's shell only, not the server's. */
  shellEnv?: NodeJS.ProcessEnv;
  /** Only the shell blocks of this `## section` of the page (the rest of it is not a walkthrough). */
  section?: string;
  /** A path for the issuer, e.g. "/tenant-a": TESSERA_ISSUER and $TESSERA then end with it. */
  issuerPath?: string;
}

export interface DocsPage {
  /** The folder the page's commands run in. */
  readonly dir: string;
  /** The issuer, and $TESSERA as the page means it. */
  readonly url: string;
  /** Runs every shell block of the page in order, in one bash; resolves to what they printed. */
  run(): Promise<string>;
  /** A JSON file a block wrote into the folder. */
  json(name: string): unknown;
}

/**
 * A docs page whose commands are run as written against a real `tessera start`: call in a
 * describe block, which then starts the server before its tests and stops it after.
 */
export function docsPage(page: string, options: DocsPageOptions = {}): DocsPage {
  let dir = '';
  let env: NodeJS.ProcessEnv = {};
  let server: TesseraProcess | undefined;
  let front: Relay | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), `tessera-docs-${page.replace(/\W/g, '-')}-`));
    if (options.nodeModules) symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    // The issuer is a relay's address, taken before the server starts on a port of the
    // system's choosing (see relay()).
    front = await relay();
    const issuer = `${front.url}${options.issuerPath ?? ''}`;
    env = {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      TESSERA_ISSUER: issuer,
      TESSERA: issuer,
      DATABASE_URL: `sqlite:${join(dir, 'docs.sqlite')}`,
      TESSERA_DATA_DIR: dir,
      LOG_LEVEL: 'silent',
      NODE_ENV: 'test',
      ...options.env,
    };
    server = startTessera(env);
    await server.ready();
    front.to(server.port);
  });

  afterAll(async () => {
    server?.child.kill('SIGTERM');
    await server?.exited;
    await front?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  return {
    get dir() {
      return dir;
    },
    get url() {
      return front ? `${front.url}${options.issuerPath ?? ''}` : '';
    },
    async run() {
      const blocks = shellBlocks(page, options.section);
      const script = [
        'set -euo pipefail',
        // `npx tessera` as the page writes it, run from this checkout whatever the working folder.
        `npx() { if [ "$1" = tessera ]; then shift; node ${CLI.map((arg) => JSON.stringify(arg)).join(' ')} "$@"; else command npx "$@"; fi; }`,
        ...blocks.map((block, i) => `echo; echo "--- block ${i + 1}"\n${block}`),
      ].join('\n');
      const { stdout } = await promisify(execFile)('bash', ['-c', script], {
        cwd: dir,
        env: { ...env, ...options.shellEnv },
        maxBuffer: 1 << 22,
      });
      // Every block ran: `set -e` stops at the first failing command.
      if ((stdout.match(/^--- block \d+$/gm) ?? []).length !== blocks.length) {
        throw new Error(`not every block of docs/${page} ran:\n${stdout}`);
      }
      return stdout;
    },
    json(name: string) {
      return JSON.parse(readFileSync(join(dir, name), 'utf8'));
    },
  };
}
