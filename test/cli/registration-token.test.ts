import { afterAll, describe, expect, it } from 'vitest';
import { cliSandbox } from '../helpers/cli.js';

/** `tessera registration-token …` as an admin runs it: a separate process on its settings. */
describe('tessera registration-token', () => {
  const cli = cliSandbox('tessera-cli-rt-');
  afterAll(() => cli.remove());
  const tessera = cli.run;

  it('creates a token shown once, lists it without the token, deletes it', async () => {
    const made = await tessera(['registration-token', 'create', '--uses', '3']);
    expect(made.code, made.stderr).toBe(0);
    const token = /token: ([\w-]{43})/.exec(made.stdout)?.[1];
    const id = /Registration token (\S+)/.exec(made.stdout)?.[1];
    expect(token).toBeDefined();
    expect(made.stdout).toContain('uses: 3');
    expect(made.stdout).toContain('expires: never');

    const listed = await tessera(['registration-token', 'list', '--json']);
    const { registration_tokens } = JSON.parse(listed.stdout);
    expect(registration_tokens).toEqual([
      { id, created_at: expect.any(Number), expires_at: null, uses_left: 3 },
    ]);
    expect(listed.stdout).not.toContain(token);

    expect((await tessera(['registration-token', 'delete', id!])).code).toBe(0);
    const again = await tessera(['registration-token', 'delete', id!, '--json']);
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stdout).error).toBe('not_found');
  });

  it('refuses a use count or lifetime that is not a whole number in range', async () => {
    const zero = await tessera(['registration-token', 'create', '--uses', '0']);
    expect(zero.code).toBe(1);
    expect(zero.stderr).toContain('--uses must be a whole number from 1');
    const words = await tessera(['registration-token', 'create', '--expires-in', 'soon']);
    expect(words.code).toBe(1);
    expect(words.stderr).toContain('--expires-in must be a whole number');
  });
});
