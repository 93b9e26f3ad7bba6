import { describe, expect, it } from 'vitest';
import { CLIENT_DEFAULTS } from '../../src/domain/client-rules.js';
import type { Client } from '../../src/store/types.js';
import { originOf } from '../../src/ui/pages/account-data.js';

const client = (id: string, registration: Client['registration']): Client => ({
  ...CLIENT_DEFAULTS,
  id,
  name: 'App',
  secretHash: null,
  secretSealed: null,
  registration,
  createdAt: 0,
  updatedAt: 0,
});

/** "Connected apps" tells the person which apps named themselves. */
describe('how an app came to be, on the account page', () => {
  it('says nothing of an admin’s app, "registered itself" of a dynamic one, and the host of a metadata document', () => {
    expect(originOf(client('abc', 'admin'))).toBeNull();
    expect(originOf(undefined)).toBeNull();
    expect(originOf(client('abc', 'dynamic'))).toBe('registered itself');
    expect(originOf(client('https://mcp.example.com/client.json', 'metadata_document'))).toBe(
      'metadata document at mcp.example.com',
    );
  });
});
