import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CONFIG_DOCS_PATH,
  README_PATH,
  renderConfigDocs,
  withReadmeTable,
} from '../scripts/config-docs.js';
import {
  ConfigError,
  configWarnings,
  type Env,
  ensureSecret,
  parseConfig,
  parseTrustProxy,
  settings,
} from '../src/config.js';

const SECRET = 'a-secret-of-at-least-thirty-two-characters';
const SMTP = 'smtps://mailer:pw@smtp.example.com:465';

/** The ConfigError that parsing `env` throws; fails the test when nothing is thrown. */
function configError(env: Env): ConfigError {
  try {
    parseConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`parseConfig accepted ${JSON.stringify(env)}`);
}

describe('parseConfig', () => {
  it('gives every setting its documented default when the environment is empty', () => {
    const config = parseConfig({});
    expect(config).toMatchObject({
      issuer: 'http://localhost:9000',
      port: 9000,
      host: '0.0.0.0',
      databaseUrl: 'sqlite:./data/tessera.sqlite',
      database: { dialect: 'sqlite', path: './data/tessera.sqlite' },
      logLevel: 'info',
      nodeEnv: 'development',
      signupEnabled: true,
      codeTtl: 60,
      deviceFlow: true,
      deviceCodeTtl: 600,
      deviceInterval: 5,
      accessTokenTtl: 3600,
      refreshTokenTtl: 2592000,
      refreshGrace: 0,
      tokenCache: 2,
      requirePkce: false,
      dataDir: './data',
    });
    expect(config.secret).toBeUndefined();
    expect(config.adminKey).toBeUndefined();
    expect(config.redisUrl).toBeUndefined();
    // Every setting appears, and each default parses to what the table says.
    for (const [key, setting] of Object.entries(settings)) {
      expect(config, key).toHaveProperty(key);
      if ('default' in setting)
        expect(String(config[key as keyof typeof settings])).toBe(setting.default);
    }
  });

  it('reads a host alone with or without a trailing slash, and a path as written', () => {
    for (const raw of ['https://id.example.com', 'https://id.example.com/']) {
      expect(parseConfig({ TESSERA_ISSUER: raw })).toMatchObject({
        issuer: 'https://id.example.com',
        issuerPath: '',
      });
    }
    expect(parseConfig({ TESSERA_ISSUER: 'http://127.0.0.1:9000/a/tenant_1.x~' })).toMatchObject({
      issuer: 'http://127.0.0.1:9000/a/tenant_1.x~',
      issuerPath: '/a/tenant_1.x~',
    });
  });

  it('treats an empty variable as unset', () => {
    expect(parseConfig({ PORT: '', TESSERA_ISSUER: '', TESSERA_SECRET: '' })).toMatchObject({
      port: 9000,
      issuer: 'http://localhost:9000',
      secret: undefined,
    });
  });

  it('reads each kind of value', () => {
    const config = parseConfig({
      TESSERA_ISSUER: 'https://id.example.com/tenant',
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: 'postgresql://u:p@db:5432/tessera',
      TESSERA_SECRET: SECRET,
      TESSERA_ADMIN_KEY: 'admin-key-0123456789',
      TESSERA_REDIS_URL: 'redis://127.0.0.1:6379/2',
      LOG_LEVEL: 'debug',
      NODE_ENV: 'production',
      TESSERA_SMTP_URL: 'smtp://mail.example.com:587',
      TESSERA_SIGNUP_ENABLED: 'off',
      TESSERA_REQUIRE_PKCE: 'YES',
      TESSERA_CODE_TTL: '600',
    });
    expect(config).toMatchObject({
      issuer: 'https://id.example.com/tenant',
      issuerPath: '/tenant',
      port: 0,
      host: '127.0.0.1',
      database: { dialect: 'postgres', url: 'postgresql://u:p@db:5432/tessera' },
      secret: SECRET,
      adminKey: 'admin-key-0123456789',
      redisUrl: 'redis://127.0.0.1:6379/2',
      logLevel: 'debug',
      nodeEnv: 'production',
      signupEnabled: false,
      requirePkce: true,
      codeTtl: 600,
    });
    expect(parseConfig({ DATABASE_URL: 'postgres://127.0.0.1/x' }).database.dialect).toBe(
      'postgres',
    );
    expect(parseConfig({ DATABASE_URL: 'sqlite:/var/lib/tessera/db.sqlite' }).database).toEqual({
      dialect: 'sqlite',
      path: '/var/lib/tessera/db.sqlite',
    });
  });

  it.each([
    ['true', true],
    ['1', true],
    ['on', true],
    ['TRUE', true],
    ['false', false],
    ['0', false],
    ['no', false],
    ['Off', false],
  ])('reads the boolean %s as %s', (raw, value) => {
    expect(parseConfig({ TESSERA_SIGNUP_ENABLED: raw }).signupEnabled).toBe(value);
  });

  it.each<[string, Env, RegExp]>([
    ['PORT', { PORT: 'abc' }, /whole number.*"abc"/],
    ['PORT', { PORT: '70000' }, /at most 65535/],
    ['PORT', { PORT: '-1' }, /whole number/],
    ['PORT', { PORT: '80.5' }, /whole number/],
    ['PORT', { PORT: ' 80' }, /whole number/],
    ['LOG_LEVEL', { LOG_LEVEL: 'loud' }, /one of fatal, error, warn, info/],
    ['NODE_ENV', { NODE_ENV: 'staging' }, /one of development, production, test/],
    ['TESSERA_ISSUER', { TESSERA_ISSUER: 'not-a-url' }, /absolute URL/],
    ['TESSERA_ISSUER', { TESSERA_ISSUER: 'ftp://id.example.com' }, /http\(s\)/],
    ['TESSERA_ISSUER', { TESSERA_ISSUER: 'https://id.example.com/?tenant=1' }, /query/],
    ['TESSERA_ISSUER', { TESSERA_ISSUER: 'https://id.example.com/#x' }, /fragment/],
    [
      'TESSERA_ISSUER',
      { TESSERA_ISSUER: 'https://id.example.com/tenant-a/' },
      /must not end with "\/" after a path: .* write "https:\/\/id\.example\.com\/tenant-a"$/,
    ],
    ['TESSERA_ISSUER', { TESSERA_ISSUER: 'https://id.example.com/a//b' }, /letters, digits/],
    ['TESSERA_ISSUER', { TESSERA_ISSUER: 'https://id.example.com/a b' }, /letters, digits/],
    ['TESSERA_ISSUER', { TESSERA_ISSUER: 'https://id.example.com/:tenant' }, /letters, digits/],
    ['TESSERA_ISSUER', { TESSERA_ISSUER: 'https://id.example.com/%2e%2e/t' }, /written as/],
    ['TESSERA_ISSUER', { TESSERA_ISSUER: 'https://id.example.com/t%20a' }, /letters, digits/],
    [
      'TESSERA_ISSUER',
      { TESSERA_ISSUER: 'https://id.example.com/a/../b' },
      /written as "https:\/\/id\.example\.com\/b"/,
    ],
    [
      'TESSERA_ISSUER',
      { TESSERA_ISSUER: 'https://ID.example.com' },
      /written as "https:\/\/id\.example\.com"/,
    ],
    [
      'TESSERA_ISSUER',
      { TESSERA_ISSUER: 'https://id.example.com:443/t' },
      /written as "https:\/\/id\.example\.com\/t"/,
    ],
    ['TESSERA_ISSUER', { TESSERA_ISSUER: 'https://u:p@id.example.com' }, /user name or password/],
    ['TESSERA_ISSUER', { TESSERA_ISSUER: 'https://id.example.com/.well-known/x' }, /RFC 8615/],
    ['TESSERA_ISSUER', { TESSERA_ISSUER: 'https://id.example.com/healthz' }, /probes/],
    ['TESSERA_REDIS_URL', { TESSERA_REDIS_URL: 'not a url' }, /absolute URL/],
    ['TESSERA_REDIS_URL', { TESSERA_REDIS_URL: 'localhost:6379' }, /redis:\/\/ or rediss:\/\//],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://x' }, /sqlite: or postgres:\/\//],
    ['DATABASE_URL', { DATABASE_URL: 'sqlite:' }, /needs a path/],
    ['DATABASE_URL', { DATABASE_URL: './data/tessera.sqlite' }, /sqlite: or postgres/],
    ['TESSERA_SECRET', { TESSERA_SECRET: 'too-short' }, /at least 32 characters/],
    ['TESSERA_SECRET', { NODE_ENV: 'production' }, /required when NODE_ENV=production/],
    [
      'TESSERA_SMTP_URL',
      { NODE_ENV: 'production', TESSERA_SECRET: SECRET },
      /required when NODE_ENV=production: verification, codes, password reset and security notices send mail/,
    ],
    ['TESSERA_SMTP_URL', { TESSERA_SMTP_URL: 'mail.example.com:25' }, /smtp:\/\/ or smtps:\/\//],
    ['TESSERA_ADMIN_KEY', { TESSERA_ADMIN_KEY: 'short' }, /at least 16 characters/],
    ['TESSERA_SIGNUP_ENABLED', { TESSERA_SIGNUP_ENABLED: 'maybe' }, /true or false/],
    ['TESSERA_REQUIRE_PKCE', { TESSERA_REQUIRE_PKCE: '2' }, /true or false/],
    ['TESSERA_CODE_TTL', { TESSERA_CODE_TTL: '0' }, /at least 1/],
    ['TESSERA_CODE_TTL', { TESSERA_CODE_TTL: '601' }, /at most 600/],
    ['TESSERA_SESSION_TTL', { TESSERA_SESSION_TTL: '10' }, /at least 60/],
    ['TESSERA_REFRESH_GRACE_SECONDS', { TESSERA_REFRESH_GRACE_SECONDS: '301' }, /at most 300/],
    ['TESSERA_TOKEN_CACHE_SECONDS', { TESSERA_TOKEN_CACHE_SECONDS: '61' }, /at most 60/],
    ['TESSERA_TOKEN_CACHE_SECONDS', { TESSERA_TOKEN_CACHE_SECONDS: '-1' }, /whole number/],
    ['TESSERA_SIGNIN_MAX_FAILURES', { TESSERA_SIGNIN_MAX_FAILURES: '0' }, /at least 1/],
    ['TESSERA_SIGNIN_LOCKOUT_SECONDS', { TESSERA_SIGNIN_LOCKOUT_SECONDS: '86401' }, /at most/],
    ['TESSERA_CLIENT_BLOCK_SECONDS', { TESSERA_CLIENT_BLOCK_SECONDS: '0' }, /at least 1/],
    ['TESSERA_AUDIT_RETENTION_DAYS', { TESSERA_AUDIT_RETENTION_DAYS: 'forever' }, /whole number/],
    ['TESSERA_TRUST_PROXY', { TESSERA_TRUST_PROXY: 'yes please' }, /true, false, a number/],
    ['TESSERA_TRUST_PROXY', { TESSERA_TRUST_PROXY: '10.0.0.0/33' }, /CIDR/],
    ['TESSERA_TRUST_PROXY', { TESSERA_TRUST_PROXY: '10.0.0.1,' }, /CIDR/],
    ['TESSERA_TRUST_PROXY', { TESSERA_TRUST_PROXY: '1000' }, /number of hops/],
  ])('refuses a bad %s (%j) with a ConfigError naming it', (variable, env, message) => {
    const error = configError(env);
    expect(error.variable).toBe(variable);
    expect(error.message.startsWith(`${variable}: `)).toBe(true);
    expect(error.message).toMatch(message);
    // One line: start-up prints exactly this.
    expect(error.message).not.toContain('\n');
  });

  it.each<[string, unknown]>([
    ['false', false],
    ['true', true],
    ['loopback', ['loopback']],
    ['10.0.0.5, 192.168.0.0/16 ,uniquelocal', ['10.0.0.5', '192.168.0.0/16', 'uniquelocal']],
    ['fd00::/8,::1', ['fd00::/8', '::1']],
  ])('reads TESSERA_TRUST_PROXY=%s as Fastify reads trustProxy', (raw, value) => {
    expect(parseConfig({ TESSERA_TRUST_PROXY: raw }).trustProxy).toBe(raw);
    expect(parseTrustProxy(raw)).toEqual(value);
  });

  it('reads a TESSERA_TRUST_PROXY hop count as trusting that many proxies', () => {
    const trust = parseTrustProxy('2') as (address: string, hops: number) => boolean;
    expect([0, 1, 2].map((hops) => trust('10.0.0.1', hops))).toEqual([true, true, false]);
  });

  it('accepts production with a secret and an SMTP server', () => {
    const config = parseConfig({
      NODE_ENV: 'production',
      TESSERA_SECRET: SECRET,
      TESSERA_SMTP_URL: SMTP,
    });
    expect(config.secret).toBe(SECRET);
    expect(config.smtpUrl).toBe(SMTP);
  });
});

describe('configWarnings', () => {
  it('warns about a plain-http issuer in production and a short admin key', () => {
    const config = parseConfig({
      NODE_ENV: 'production',
      TESSERA_SECRET: SECRET,
      TESSERA_SMTP_URL: SMTP,
      TESSERA_ADMIN_KEY: 'sixteen-chars-ok',
    });
    const warnings = configWarnings(config);
    expect(warnings.some((w) => w.startsWith('TESSERA_ISSUER'))).toBe(true);
    expect(warnings.some((w) => w.startsWith('TESSERA_ADMIN_KEY'))).toBe(true);
  });

  it('has nothing to say about a safe production configuration', () => {
    const config = parseConfig({
      NODE_ENV: 'production',
      TESSERA_SECRET: SECRET,
      TESSERA_SMTP_URL: SMTP,
      TESSERA_ISSUER: 'https://id.example.com',
      TESSERA_ADMIN_KEY: 'an-admin-key-of-at-least-32-characters',
    });
    expect(configWarnings(config)).toEqual([]);
  });
});

describe('ensureSecret', () => {
  const dirs: string[] = [];
  const dataDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-secret-'));
    dirs.push(dir);
    return join(dir, 'data');
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('generates data/secret with mode 0600 on first start and reads the same one afterwards', () => {
    const dir = dataDir();
    const config = parseConfig({ TESSERA_DATA_DIR: dir });
    const first = ensureSecret(config);
    const file = join(dir, 'secret');
    expect(first.secret.length).toBeGreaterThanOrEqual(32);
    expect(readFileSync(file, 'utf8').trim()).toBe(first.secret);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const second = ensureSecret(parseConfig({ TESSERA_DATA_DIR: dir }));
    expect(second.secret).toBe(first.secret);
    expect(second).toEqual(first);
  });

  it('uses TESSERA_SECRET when set and writes no file', () => {
    const dir = dataDir();
    const config = ensureSecret(parseConfig({ TESSERA_DATA_DIR: dir, TESSERA_SECRET: SECRET }));
    expect(config.secret).toBe(SECRET);
    expect(existsSync(join(dir, 'secret'))).toBe(false);
  });

  it('refuses a secret file that holds too short a secret, naming TESSERA_SECRET', () => {
    const dir = dataDir();
    ensureSecret(parseConfig({ TESSERA_DATA_DIR: dir }));
    writeFileSync(join(dir, 'secret'), 'short\n');
    expect(() => ensureSecret(parseConfig({ TESSERA_DATA_DIR: dir }))).toThrow(
      expect.objectContaining({ name: 'ConfigError', variable: 'TESSERA_SECRET' }),
    );
  });
});

describe('docs/configuration.md', () => {
  it('is up to date with the settings table (run `npm run docs:config` when this fails)', () => {
    expect(readFileSync(CONFIG_DOCS_PATH, 'utf8')).toBe(renderConfigDocs());
  });

  it("keeps the README's configuration table in step with the settings", () => {
    const readme = readFileSync(README_PATH, 'utf8');
    expect(readme).toBe(withReadmeTable(readme));
    for (const setting of Object.values(settings))
      expect(readme).toContain(`| \`${setting.env}\` |`);
  });

  it('documents every variable with a description', () => {
    const page = renderConfigDocs();
    for (const setting of Object.values(settings)) {
      expect(setting.doc.length, setting.env).toBeGreaterThan(10);
      expect(page).toContain(`| \`${setting.env}\` |`);
    }
  });
});
