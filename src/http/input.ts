import type { FastifyInstance, preHandlerHookHandler } from 'fastify';
import { ValidationError } from '../domain/errors.js';
import { describeCodePoint, forbiddenInName, forbiddenInText } from '../lib/text.js';

/**
 * Deepest JSON nesting a body may have. Tessera's deepest body is a user with
 * an address (two levels); this leaves room for any schema we add and keeps
 * the walk below bounded whatever a 64 KiB body holds.
 */
export const MAX_JSON_DEPTH = 8;

type Where = 'query' | 'path' | 'body';

/** A name as shown in a message: short, and never with the characters it is refused for. */
function shown(name: string): string {
  return name.length > 64 ? `${name.slice(0, 64)}…` : name;
}

function refuse(where: Where, name: string, code: number): ValidationError {
  return new ValidationError(
    name,
    `${where} parameter "${shown(name)}" holds ${describeCodePoint(code)}, which Tessera does not accept`,
  );
}

function refuseName(where: Where, code: number): ValidationError {
  return new ValidationError(
    where,
    `a ${where} parameter name holds ${describeCodePoint(code)}, which Tessera does not accept`,
  );
}

/**
 * Checks one value: a string, or (JSON bodies, repeated parameters) arrays and
 * objects of them. Path segments are identifiers and get the stricter rule;
 * everything else may hold TAB, LF and CR.
 */
function check(where: Where, name: string, value: unknown, depth: number): void {
  if (typeof value === 'string') {
    const code = where === 'path' ? forbiddenInName(value) : forbiddenInText(value);
    if (code !== undefined) throw refuse(where, name, code);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  if (depth > MAX_JSON_DEPTH) {
    throw new ValidationError(
      name,
      `${where} parameter "${shown(name)}" is nested more than ${MAX_JSON_DEPTH} levels deep`,
    );
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) check(where, `${name}[${i}]`, value[i], depth + 1);
    return;
  }
  checkFields(where, value as Record<string, unknown>, name, depth + 1);
}

function checkFields(
  where: Where,
  fields: Record<string, unknown>,
  prefix: string,
  depth: number,
): void {
  for (const key in fields) {
    if (!Object.hasOwn(fields, key)) continue;
    const code = forbiddenInName(key);
    if (code !== undefined) throw refuseName(where, code);
    check(where, prefix ? `${prefix}.${key}` : key, fields[key], depth);
  }
}

function checkRoot(where: Where, value: unknown): void {
  if (value === null || value === undefined) return;
  if (typeof value === 'object' && !Array.isArray(value)) {
    checkFields(where, value as Record<string, unknown>, '', 1);
  } else {
    check(where, where, value, 1);
  }
}

/**
 * ajv coerces `1e309` or `Infinity` in a query string to Infinity, which passes
 * `type: "integer"` and skips `maximum` (ajv compares only finite numbers), so no
 * schema bound can stop it; a number can only be in the query or path through that
 * coercion, and a non-finite one is refused here, after validation, on every route
 * that has a query or path schema.
 */
function checkFinite(where: Where, fields: unknown): void {
  if (fields === null || typeof fields !== 'object') return;
  for (const [name, value] of Object.entries(fields)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (typeof item === 'number' && !Number.isFinite(item)) {
        throw new ValidationError(
          name,
          `${where} parameter "${shown(name)}" must be a finite number within its bounds`,
        );
      }
    }
  }
}

/**
 * One check at the input layer for every route, 404s included: query string,
 * route parameters and body (form or JSON), after parsing and before schema
 * validation and handlers. A NUL or other control character, DEL, or an
 * unpaired surrogate is a 400 `invalid_request` naming the parameter (JSON or
 * the error page, by route). One precompiled regex test per string, so it
 * costs nothing a request would notice. Headers need no check here: Node's
 * parser refuses control characters in them, and the two that are decoded
 * (cookies are only hashed; Basic credentials) are checked where decoded.
 */
export function registerInputCheck(app: FastifyInstance): void {
  app.addHook('preValidation', (request, _reply, done) => {
    try {
      checkRoot('query', request.query);
      checkRoot('path', request.params);
      checkRoot('body', request.body);
    } catch (error) {
      done(error as ValidationError);
      return;
    }
    done();
  });
  // Only a route whose query or path has a schema can have a coerced number: the others
  // (the token endpoint among them) are spared the hook.
  app.addHook('onRoute', (route) => {
    if (!route.schema?.querystring && !route.schema?.params) return;
    const own = route.preHandler;
    route.preHandler = [refuseNonFinite, ...(own === undefined ? [] : [own].flat())];
  });
}

const refuseNonFinite: preHandlerHookHandler = (request, _reply, done) => {
  try {
    checkFinite('query', request.query);
    checkFinite('path', request.params);
  } catch (error) {
    done(error as ValidationError);
    return;
  }
  done();
};
