import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { perOperation, summarize } from '../../bench/lib/profile-summary.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-profile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const root = process.cwd();
const frame = (functionName: string, url = '') => ({ functionName, url, lineNumber: 0 });

/** A profile whose nodes form one chain per stack (leaf last), sampled as `samples` says. */
function profileOf(
  stacks: Record<string, ReturnType<typeof frame>[]>,
  samples: [string, number][],
) {
  const nodes: { id: number; callFrame: ReturnType<typeof frame>; children: number[] }[] = [
    { id: 1, callFrame: frame('(root)'), children: [] },
  ];
  const leafOf: Record<string, number> = {};
  for (const [name, chain] of Object.entries(stacks)) {
    let parent = nodes[0]!;
    for (const f of chain) {
      const node = { id: nodes.length + 1, callFrame: f, children: [] };
      parent.children.push(node.id);
      nodes.push(node);
      parent = node;
    }
    leafOf[name] = parent.id;
  }
  const ids = [1, ...samples.map(([name]) => leafOf[name]!)];
  const deltas = [0, ...samples.map(([, us]) => us)];
  const file = join(dir, `${Math.random()}.cpuprofile`);
  writeFileSync(
    file,
    JSON.stringify({ nodes, startTime: 0, endTime: 1, samples: ids, timeDeltas: deltas }),
  );
  return file;
}

describe('the profile split', () => {
  const handler = frame('handle', `file://${root}/src/oauth/grants/refresh-token.ts`);
  const fastify = frame(
    'handleRequest',
    `file://${root}/node_modules/fastify/lib/handle-request.js`,
  );
  const file = profileOf(
    {
      sign: [fastify, handler, frame('signOneShot', 'node:internal/crypto/sig'), frame('run')],
      // jose 6 (the peer's) signs through WebCrypto.
      webcrypto: [
        fastify,
        frame('sign', 'node:internal/crypto/webcrypto'),
        frame('signVerify', 'node:internal/crypto/webcrypto'),
        frame('rsaSignVerify', 'node:internal/crypto/rsa'),
        frame('jobPromise', 'node:internal/crypto/util'),
        frame('run'),
      ],
      db: [
        fastify,
        handler,
        frame('rotate', `file://${root}/src/store/kysely/tokens.ts`),
        frame('executeQuery', `file://${root}/node_modules/kysely/dist/esm/driver.js`),
        frame('run'),
      ],
      write: [
        fastify,
        frame('writevGeneric', 'node:internal/stream_base_commons'),
        frame('writev'),
      ],
      glue: [fastify, frame('parseForm', `file://${root}/src/http/body.ts`)],
      protocol: [fastify, handler],
      gc: [frame('(garbage collector)')],
    },
    [
      ['sign', 1000],
      ['webcrypto', 1000],
      ['db', 1000],
      ['db', 1000],
      ['db', 1000],
      ['write', 1000],
      ['glue', 1000],
      ['protocol', 1000],
      ['gc', 1000],
      // The thread descheduled for 80 ms during one sample: counted as 5 ms, not 80.
      ['protocol', 80_000],
    ],
  );

  it('puts each sample in one part, by its whole stack', () => {
    const split = Object.fromEntries(summarize(file).split.map((s) => [s.name, s.ms]));
    expect(split).toEqual({ signatures: 2, database: 3, HTTP: 2, GC: 1, 'the rest': 6 });
  });

  it('gives the µs of one operation', () => {
    expect(perOperation(summarize(file), 4)).toEqual({
      signatures: 500,
      database: 750,
      HTTP: 500,
      GC: 250,
      'the rest': 1500,
      total: 3500,
    });
  });
});
