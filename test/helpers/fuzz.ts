import fc from 'fast-check';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { CSRF_COOKIE, CSRF_FIELD } from '../../src/http/csrf.js';
import { SESSION_COOKIE } from '../../src/http/session.js';
import { hmacSha256 } from '../../src/lib/hash.js';
import { randomToken } from '../../src/lib/random.js';
import { TEST_ADMIN_KEY, TEST_SECRET } from './config.js';
import { basicAuth, REDIRECT_URI, type TestClient } from './oauth.js';

/*
 * Generators for the route fuzz test (test/http/fuzz.test.ts): requests that
 * mix the parameter names Tessera reads with random ones, and real values of
 * a store's world (its client, person, session, CSRF token, admin key) with
 * hostile ones.
 */

export interface Route {
  method: string;
  url: string;
}

/**
 * The routes of a built app, from Fastify's own route tree: lines such as
 * `│   └── /:id (GET, HEAD, DELETE)`, each a suffix of its parent's path.
 */
export function discoverRoutes(app: FastifyInstance): Route[] {
  const routes: Route[] = [];
  const parents: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^((?:│ {3}| {4})*)[├└]── (\S+)(?: \(([^)]*)\))?$/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    const url = (depth > 0 ? parents[depth - 1] : '') + match[2];
    parents.length = depth;
    parents.push(url);
    for (const method of match[3]?.split(', ') ?? []) routes.push({ method, url });
  }
  return routes;
}

/** Real values of a store's world, resolved when a request is built (a fuzzed request may delete them). */
export type Ref =
  | 'clientId'
  | 'clientSecret'
  | 'publicClientId'
  | 'userId'
  | 'username'
  | 'password'
  | 'sessionId'
  | 'redirectUri'
  | 'csrf';

export interface World {
  client: TestClient;
  publicClient: TestClient;
  userId: string;
  username: string;
  password: string;
  /** The session secrets of the person and of an admin; the id of the person's. */
  userSession: { id: string; secret: string };
  adminSession: string;
  csrfSeed: string;
}

type Poisoned = { poison: string; at: number; value: Value };
export type Value =
  | string
  | number
  | boolean
  | null
  | { ref: Ref }
  | Poisoned
  | Value[]
  | { [name: string]: Value };

const ref = (r: Ref): Value => ({ ref: r });

/**
 * The names Tessera reads, each with values a real client would send, so that
 * a request gets past its first checks and reaches the store often enough.
 */
const SANE_BY_NAME: Record<string, Value[]> = {
  client_id: [ref('clientId'), ref('publicClientId')],
  client_secret: [ref('clientSecret')],
  redirect_uri: [ref('redirectUri')],
  post_logout_redirect_uri: [ref('redirectUri')],
  response_type: ['code'],
  response_mode: ['query', 'form_post', 'fragment'],
  scope: ['openid', 'openid profile email offline_access'],
  state: ['xyz'],
  nonce: ['n-0S6_WzA2Mj'],
  prompt: ['login', 'consent', 'none', 'select_account'],
  max_age: ['0', '3600'],
  acr_values: ['urn:tessera:acr:pwd', 'urn:example:gold'],
  claims: [
    '{"id_token":{"email":null}}',
    '{"id_token":{"acr":{"essential":true,"values":["urn:tessera:acr:pwd"]},"auth_time":null}}',
  ],
  login_hint: [ref('username')],
  id_token_hint: ['eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.'],
  code: ['SplxlOBeZQQYbYS6WxSbIA'],
  code_challenge: ['E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'],
  code_challenge_method: ['S256'],
  code_verifier: ['dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'],
  grant_type: ['authorization_code', 'refresh_token', 'client_credentials'],
  refresh_token: ['tGzv3JOkF0XG5Qx2TlKWIA'],
  access_token: ['2YotnFZFEjr1zCsicMWpAA'],
  token: ['2YotnFZFEjr1zCsicMWpAA'],
  token_type_hint: ['access_token', 'refresh_token'],
  username: [ref('username')],
  password: [ref('password')],
  email: ['someone@example.com'],
  given_name: ['Ada'],
  family_name: ['Lovelace'],
  phone_number: ['+44 20 7946 0000'],
  role: ['admin', 'user'],
  return_to: ['/account', '/authorize?client_id=x'],
  logout: ['yes', 'no'],
  offset: ['0', '10'],
  limit: ['1', '50'],
  q: ['a'],
  id: [ref('userId'), ref('clientId')],
  session_id: [ref('sessionId')],
  grant_id: ['g1'],
  interaction: ['i1'],
  decision: ['allow', 'deny'],
  choice: ['continue', 'other'],
  notice: ['updated'],
  deleted: ['1'],
  client_name: ['App'],
  redirect_uris: [ref('redirectUri')],
  grant_types: ['authorization_code'],
  default_max_age: ['60'],
  resource_server: ['true', 'false'],
  dpop_bound_access_tokens: ['true', 'false'],
  dpop_jkt: ['0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I'],
  token_endpoint_auth_method: ['client_secret_basic', 'client_secret_post', 'none'],
  backchannel_logout_uri: ['https://app.example.com/bc', 'http://127.0.0.1:9/bc'],
  current_password: [ref('password')],
  new_password: ['a much longer passphrase'],
  tessera_login: ['1700000000.abc.def'],
  // Parameters Tessera refuses whenever they are sent: sane is to send them empty (that is, not at all).
  client_assertion: [''],
  client_assertion_type: [''],
  request: [''],
  request_uri: [''],
  resource: ['https://api.example.com/'],
  [CSRF_FIELD]: [ref('csrf')],
};
export const KNOWN_NAMES = Object.keys(SANE_BY_NAME);

const REFS: Ref[] = [
  'clientId',
  'clientSecret',
  'publicClientId',
  'userId',
  'username',
  'password',
  'sessionId',
  'redirectUri',
  'csrf',
];

/** Hostile values as a whole. */
const HOSTILE = [
  '\u0000',
  '\u2028',
  '\u202e',
  '\ufeff',
  '\t',
  '\r\n',
  '__proto__',
  'constructor',
  '%00',
  '%',
  '%zz',
  'é',
  '😀',
  '中文',
  '/中文',
  '/account?x=中文',
  '/account?x=é',
  '//evil.example',
  'https://evil.example/cb',
  'javascript:alert(1)',
  'code id_token',
  'plain',
  '{}',
  '{"id_token":',
  "' OR 1=1 --",
  '<script>alert(1)</script>',
  'a.b.c',
];

/** Numbers as text, for where an integer is read: past every bound, or not integers at all. */
const NUMERIC = [
  '1e308',
  '1e309',
  '-1e309',
  '99999999999999999999',
  '9007199254740993',
  '-1',
  '-0',
  '1.5',
  'NaN',
  'Infinity',
  '0x10',
  '1_000',
  ' 1',
];

/**
 * What the input layer refuses, slipped into an otherwise sane value. NUL most
 * often: it is the one PostgreSQL refuses, so the one that was a 500 there.
 */
const POISON = fc.oneof(
  { arbitrary: fc.constant('\u0000'), weight: 4 },
  fc.constantFrom('\u0001', '\u000b', '\u001b', '\u001f', '\u007f', '\ud800', '\udfff'),
);

/** Any UTF-16 code unit, lone surrogates included. */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));

function saneFor(name: string): fc.Arbitrary<Value> {
  const known = Object.hasOwn(SANE_BY_NAME, name) ? SANE_BY_NAME[name] : undefined;
  const generic = fc.oneof(
    fc.constantFrom(...REFS).map(ref),
    fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 16 }),
  );
  return known ? fc.oneof({ arbitrary: fc.constantFrom(...known), weight: 3 }, generic) : generic;
}

function hostileFor(name: string): fc.Arbitrary<Value> {
  return fc.oneof(
    {
      arbitrary: fc
        .tuple(saneFor(name), POISON, fc.nat())
        .map(([value, poison, at]): Value => ({ poison, at, value })),
      weight: 4,
    },
    { arbitrary: fc.constantFrom(...HOSTILE), weight: 2 },
    { arbitrary: fc.constantFrom(...NUMERIC), weight: 2 },
    { arbitrary: fc.string({ unit: codeUnit, maxLength: 30 }), weight: 1 },
    { arbitrary: fc.string({ unit: 'binary', maxLength: 30 }), weight: 1 },
    {
      arbitrary: fc
        .tuple(
          fc.constantFrom('x', 'é', '中', '\u0000', '😀', '%'),
          fc.integer({ min: 100, max: 9000 }),
        )
        .map(([c, n]) => c.repeat(n)),
      weight: 1,
    },
  );
}

/** A value for `name`: sane more often than not, so that requests get deep. */
const valueFor = (name: string, hostileShare: number): fc.Arbitrary<Value> =>
  hostileShare === 0
    ? saneFor(name)
    : fc.oneof(
        { arbitrary: saneFor(name), weight: 10 - hostileShare },
        { arbitrary: hostileFor(name), weight: hostileShare },
      );

const randomName = fc.oneof(
  fc.string({ unit: 'grapheme-ascii', maxLength: 12 }),
  fc.constantFrom('__proto__', 'constructor', 'a[b]', 'a.b', '', 'a\u0000', 'x\ud800'),
);

/**
 * Parameters: most of the names the route was seen to read, a few other known
 * names, random names, and now and then a name twice. `hostileShare` of 10
 * values are hostile.
 */
export function paramsFor(
  learned: string[],
  hostileShare: number,
): fc.Arbitrary<[string, Value][]> {
  const extra = hostileShare === 0 ? 0 : 2;
  return fc
    .tuple(
      fc.tuple(...learned.map(() => fc.integer({ min: 0, max: 4 }))),
      fc.subarray(KNOWN_NAMES, { maxLength: 3 }),
      fc.array(randomName, { maxLength: extra }),
      fc.array(fc.constantFrom(...KNOWN_NAMES, ...learned), { maxLength: extra ? 1 : 0 }),
    )
    .chain(([keep, known, random, repeated]) => {
      const names = [
        ...learned.filter((_n, i) => keep[i] !== 0),
        ...known.filter((n) => !learned.includes(n)),
        ...random,
        ...repeated,
      ];
      return fc
        .tuple(...names.map((n) => valueFor(n, hostileShare)))
        .map((values) => names.map((n, i): [string, Value] => [n, values[i]!]));
    });
}

const scalarFor = (name: string, hostileShare: number): fc.Arbitrary<Value> =>
  fc.oneof(
    { arbitrary: valueFor(name, hostileShare), weight: 6 },
    {
      arbitrary: fc.constantFrom(1e308, -1e308, 2 ** 53 + 1, 0, -1, 1.5, 1e-300, true, false, null),
      weight: hostileShare === 0 ? 0 : 1,
    },
  );

const json: fc.Arbitrary<Value> = fc.letrec<{ value: Value }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth: 4 },
    scalarFor('x', 4),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.oneof(fc.constantFrom(...KNOWN_NAMES), randomName), tie('value'), {
      maxKeys: 4,
    }),
  ),
})).value;

/** Deeper than the input layer's bound, now and then. */
const deep = fc
  .integer({ min: 1, max: 40 })
  .map((levels) => Array.from({ length: levels }).reduce<Value>((inner) => ({ a: inner }), 'x'));

export type Body =
  | { kind: 'none' }
  | { kind: 'form'; fields: [string, Value][] }
  | { kind: 'json'; value: Value }
  | { kind: 'raw'; text: string; type: string | undefined };

function bodyFor(learned: string[], hostileShare: number): fc.Arbitrary<Body> {
  const fields = paramsFor(learned, hostileShare);
  const jsonObject = fields.chain((pairs) =>
    fc
      .tuple(
        ...pairs.map(([n]) =>
          hostileShare === 0
            ? scalarFor(n, 0)
            : fc.oneof({ arbitrary: scalarFor(n, hostileShare), weight: 5 }, json),
        ),
      )
      .map((values): Value => Object.fromEntries(pairs.map(([n], i) => [n, values[i]!]))),
  );
  const raw = fc
    .record({
      text: fc.oneof(
        fc.string({ unit: 'binary', maxLength: 60 }),
        fc.constantFrom(
          '{"a":',
          '[',
          'null',
          '1e309',
          '"x"',
          'a=%E0%A4%A',
          '%',
          '{"__proto__":{}}',
        ),
      ),
      type: fc.constantFrom(
        undefined,
        'application/json',
        'application/json; charset=utf-8',
        'application/x-www-form-urlencoded',
        'application/x-www-form-urlencoded; charset=latin1',
        'text/plain',
        'multipart/form-data; boundary=x',
        'application/octet-stream',
      ),
    })
    .map((r): Body => ({ kind: 'raw', ...r }));
  const hostile = hostileShare === 0 ? 0 : 1;
  return fc.oneof(
    { arbitrary: fc.constant<Body>({ kind: 'none' }), weight: hostile },
    { arbitrary: fields.map((f): Body => ({ kind: 'form', fields: f })), weight: 4 },
    { arbitrary: jsonObject.map((value): Body => ({ kind: 'json', value })), weight: 3 },
    { arbitrary: json.map((value): Body => ({ kind: 'json', value })), weight: hostile },
    {
      arbitrary: deep.map((value): Body => ({ kind: 'json', value: { client_id: value } })),
      weight: hostile,
    },
    { arbitrary: raw, weight: hostile },
  );
}

/** Printable ASCII only: what an HTTP client can put in a header. */
const headerText = fc
  .string({ unit: 'binary-ascii', maxLength: 60 })
  .map((s) => s.replace(/[^\x20-\x7e]/g, ''));

export interface Learned {
  query: string[];
  body: string[];
}

/**
 * A request for `route`. With `hostileShare` 0 it is a sane one, as the
 * learning phase sends: real credentials more often than not.
 */
export function requestFor(route: Route, learned: Learned, hostileShare: number) {
  const sane = hostileShare === 0;
  const weighted = <T>(...choices: [T, number][]) =>
    fc.oneof(...choices.map(([value, weight]) => ({ arbitrary: fc.constant(value), weight })));
  return fc.record({
    query: paramsFor(learned.query, hostileShare),
    rawQuery: sane
      ? fc.constant(null)
      : fc.option(fc.constantFrom('%', '%zz', '&&=&', 'a=%E0%A4%A', 'a[b]=c', 'x=1&x=2', '%00=1')),
    path: fc.tuple(...[0, 1, 2, 3].map(() => valueFor('id', hostileShare))),
    body:
      route.method === 'GET' || route.method === 'HEAD'
        ? fc.constant<Body>({ kind: 'none' })
        : bodyFor(learned.body, hostileShare),
    auth: fc.oneof(
      { arbitrary: weighted(['none', 6], ['basic', 3], ['basic-public', 1]), weight: 6 },
      {
        arbitrary: sane
          ? fc.constant('none')
          : fc.oneof(
              fc.constantFrom('basic-wrong', 'bearer-junk', 'basic-empty'),
              fc.string({ unit: 'binary', maxLength: 40 }).map((s) => `basic:${s}`),
              headerText.map((s) => `raw:${s}`),
            ),
        weight: 1,
      },
    ),
    as: sane
      ? weighted(['user', 2], ['admin', 1], ['nobody', 1])
      : fc.constantFrom('nobody', 'user', 'admin', 'junk-cookie'),
    csrf: sane ? fc.constant(true) : weighted([true, 3], [false, 1]),
    adminKey: sane
      ? weighted(['valid', 1], ['none', 1])
      : fc.constantFrom('none', 'valid', 'wrong'),
    accept: fc.constantFrom(undefined, 'text/html', 'application/json'),
    requestId: sane ? fc.constant(null) : fc.option(headerText),
  });
}

export type Generated = ReturnType<typeof requestFor> extends fc.Arbitrary<infer T> ? T : never;

/** Percent-encoding that also takes lone surrogates (sent as U+FFFD, as a browser would). */
function encode(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return [...Buffer.from(value, 'utf8')]
      .map((b) => `%${b.toString(16).padStart(2, '0')}`)
      .join('');
  }
}

/** A value as a query or form string: what a client would flatten it to. */
const flat = (value: Value): string =>
  typeof value === 'string' ? value : value === null ? '' : JSON.stringify(value);

function resolveRef(r: Ref, world: World): string {
  switch (r) {
    case 'clientId':
      return world.client.client.id;
    case 'clientSecret':
      return world.client.secret ?? '';
    case 'publicClientId':
      return world.publicClient.client.id;
    case 'userId':
      return world.userId;
    case 'username':
      return world.username;
    case 'password':
      return world.password;
    case 'sessionId':
      return world.userSession.id;
    case 'redirectUri':
      return REDIRECT_URI;
    case 'csrf':
      return hmacSha256(TEST_SECRET, `csrf:${world.csrfSeed}`);
  }
}

function resolve(value: Value, world: World): Value {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => resolve(v, world));
  if ('poison' in value && typeof value.poison === 'string') {
    const { poison, at, value: inner } = value as Poisoned;
    const clean = flat(resolve(inner, world));
    const i = at % (clean.length + 1);
    return clean.slice(0, i) + poison + clean.slice(i);
  }
  if ('ref' in value && typeof value.ref === 'string' && Object.keys(value).length === 1) {
    return resolveRef(value.ref as Ref, world);
  }
  const out: Record<string, Value> = {};
  for (const [k, v] of Object.entries(value)) out[k] = resolve(v, world);
  return out;
}

function pairs(fields: [string, Value][], world: World): string {
  return fields.map(([k, v]) => `${encode(k)}=${encode(flat(resolve(v, world)))}`).join('&');
}

/** The inject() options of a generated request, against `world`. */
export function build(route: Route, g: Generated, world: World): InjectOptions {
  let next = 0;
  const path = route.url.replace(/:[^/]+|\*/g, () =>
    encode(flat(resolve(g.path[next++ % g.path.length]!, world))),
  );
  const csrfToken = hmacSha256(TEST_SECRET, `csrf:${world.csrfSeed}`);
  const query = [pairs(g.query, world), g.rawQuery ?? ''].filter(Boolean).join('&');
  const headers: Record<string, string> = {};
  let payload: string | undefined;
  const b = g.body;
  if (b.kind === 'form') {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    const csrf: [string, Value][] = g.csrf ? [[CSRF_FIELD, csrfToken]] : [];
    payload = pairs([...b.fields, ...csrf], world);
  } else if (b.kind === 'json') {
    headers['content-type'] = 'application/json';
    const value = resolve(b.value, world);
    const isObject = value !== null && typeof value === 'object' && !Array.isArray(value);
    payload = JSON.stringify(g.csrf && isObject ? { ...value, [CSRF_FIELD]: csrfToken } : value);
  } else if (b.kind === 'raw') {
    if (b.type) headers['content-type'] = b.type;
    payload = b.text;
  }
  const cookies: string[] = [];
  if (g.as === 'user') cookies.push(`${SESSION_COOKIE}=${world.userSession.secret}`);
  if (g.as === 'admin') cookies.push(`${SESSION_COOKIE}=${world.adminSession}`);
  if (g.as === 'junk-cookie') cookies.push(`${SESSION_COOKIE}=%E0%A4%A`, `${CSRF_COOKIE}=%00`);
  if (g.csrf) cookies.push(`${CSRF_COOKIE}=${world.csrfSeed}`);
  if (cookies.length) headers.cookie = cookies.join('; ');
  if (g.adminKey === 'valid') headers['x-admin-key'] = TEST_ADMIN_KEY;
  if (g.adminKey === 'wrong') headers['x-admin-key'] = 'wrong-key';
  if (g.accept) headers.accept = g.accept;
  if (g.requestId !== null) headers['x-request-id'] = g.requestId;
  const { client, publicClient } = world;
  const auth = g.auth;
  if (auth === 'basic') headers.authorization = basicAuth(client.client.id, client.secret!);
  else if (auth === 'basic-wrong') headers.authorization = basicAuth(client.client.id, 'wrong');
  else if (auth === 'basic-public') headers.authorization = basicAuth(publicClient.client.id, '');
  else if (auth === 'basic-empty') headers.authorization = 'Basic';
  else if (auth === 'bearer-junk') headers.authorization = `Bearer ${randomToken(16)}`;
  else if (auth.startsWith('basic:'))
    headers.authorization = `Basic ${Buffer.from(auth.slice(6)).toString('base64')}`;
  else if (auth.startsWith('raw:')) headers.authorization = auth.slice(4);
  return {
    method: route.method as InjectOptions['method'],
    url: query ? `${path}?${query}` : path,
    headers,
    ...(payload !== undefined ? { payload } : {}),
  };
}

/**
 * Records the query and body names the app reads, through a transparent
 * proxy put on them before the handler runs (after parsing, the input check
 * and validation). What a route reads tells the fuzzer which names matter to it.
 */
export function recordReads(app: FastifyInstance): { take(): Learned } {
  let query = new Set<string>();
  let body = new Set<string>();
  const watch = (target: object, into: () => Set<string>) =>
    new Proxy(target, {
      get(t, key, receiver) {
        if (typeof key === 'string') into().add(key);
        return Reflect.get(t, key, receiver);
      },
      getOwnPropertyDescriptor(t, key) {
        if (typeof key === 'string') into().add(key);
        return Reflect.getOwnPropertyDescriptor(t, key);
      },
    });
  app.addHook('preHandler', (request, _reply, done) => {
    if (request.query && typeof request.query === 'object')
      request.query = watch(request.query, () => query);
    if (request.body && typeof request.body === 'object' && !Array.isArray(request.body))
      request.body = watch(request.body, () => body);
    done();
  });
  return {
    take() {
      const seen = { query: [...query], body: [...body] };
      query = new Set();
      body = new Set();
      return seen;
    },
  };
}
