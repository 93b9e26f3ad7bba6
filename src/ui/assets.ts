import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';

const ASSETS: Record<string, string> = {
  'tessera.css': 'text/css; charset=utf-8',
  // The passkey ceremonies of /login, /login/second-factor and /account (WebAuthn needs script).
  'passkeys.js': 'text/javascript; charset=utf-8',
};

/** The few static files the pages use, read once at start. */
export function registerAssets(app: FastifyInstance): void {
  for (const [name, type] of Object.entries(ASSETS)) {
    const body = readFileSync(new URL(`./assets/${name}`, import.meta.url));
    app.get(`/assets/${name}`, async (_request, reply) =>
      reply.type(type).header('cache-control', 'public, max-age=3600').send(body),
    );
  }
}
