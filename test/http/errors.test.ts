import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { ERRORS } from '../../src/error-catalogue.js';
import { registerErrorHandler } from '../../src/http/errors.js';

/** A framework error of any 4xx is answered with a code and a status the catalogue lists. */
describe('the error handler and the catalogue', () => {
  async function answerTo(statusCode: number) {
    const app = Fastify({ logger: false });
    registerErrorHandler(app, (_request, reply, status, body) => reply.code(status).send(body));
    app.get('/boom', async () => {
      throw Object.assign(new Error('the framework refused it'), { statusCode });
    });
    const res = await app.inject({ url: '/boom', headers: { accept: 'application/json' } });
    await app.close();
    return res;
  }

  it.each([400, 404, 405, 406, 409, 413, 414, 415, 418, 429, 431])(
    'a framework error of %i answers invalid_request with a status it is listed with',
    async (statusCode) => {
      const res = await answerTo(statusCode);
      expect(res.json().error).toBe('invalid_request');
      expect(ERRORS.invalid_request.surfaces.admin).toContain(res.statusCode);
      const passedOn = (ERRORS.invalid_request.surfaces.admin as readonly number[]).includes(
        statusCode,
      );
      expect(res.statusCode).toBe(passedOn ? statusCode : 400);
    },
  );
});
