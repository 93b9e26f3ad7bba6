import { type Kysely, type Selectable, sql } from 'kysely';
import { fold } from '../../lib/fold.js';
import {
  ConflictError,
  type ListOptions,
  type NewUser,
  type User,
  type UserPatch,
  type UserStore,
} from '../types.js';
import { flag, fromJson, isSet, isUniqueViolation, toJson, violationText } from './codec.js';
import { precompiled } from './precompiled.js';
import { type Database, USER_COLUMNS, type UsersTable } from './schema.js';

export function toUser(row: Selectable<UsersTable>): User {
  return {
    id: row.id,
    username: row.username,
    email: row.email,
    emailVerified: isSet(row.email_verified),
    passwordHash: row.password_hash,
    givenName: row.given_name,
    familyName: row.family_name,
    middleName: row.middle_name,
    nickname: row.nickname,
    picture: row.picture,
    website: row.website,
    gender: row.gender,
    birthdate: row.birthdate,
    zoneinfo: row.zoneinfo,
    locale: row.locale,
    phoneNumber: row.phone_number,
    phoneNumberVerified: isSet(row.phone_number_verified),
    address: fromJson(row.address),
    role: row.role === 'admin' ? 'admin' : 'user',
    twoFactor: isSet(row.two_factor),
    pendingEmail: row.pending_email ?? null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** The columns a patch touches; explicit, so no stray field is ever written. */
function toColumns(patch: UserPatch): Partial<UsersTable> {
  const row: Partial<UsersTable> = {};
  if (patch.username !== undefined) {
    row.username = patch.username;
    row.username_lower = patch.username.toLowerCase();
  }
  if (patch.email !== undefined) {
    row.email = patch.email;
    // Unique and looked up in this form (compatibility characters folded, case ignored).
    row.email_lower = fold(patch.email);
  }
  if (patch.emailVerified !== undefined) row.email_verified = flag(patch.emailVerified);
  if (patch.passwordHash !== undefined) row.password_hash = patch.passwordHash;
  if (patch.givenName !== undefined) row.given_name = patch.givenName;
  if (patch.familyName !== undefined) row.family_name = patch.familyName;
  if (patch.middleName !== undefined) row.middle_name = patch.middleName;
  if (patch.nickname !== undefined) row.nickname = patch.nickname;
  if (patch.picture !== undefined) row.picture = patch.picture;
  if (patch.website !== undefined) row.website = patch.website;
  if (patch.gender !== undefined) row.gender = patch.gender;
  if (patch.birthdate !== undefined) row.birthdate = patch.birthdate;
  if (patch.zoneinfo !== undefined) row.zoneinfo = patch.zoneinfo;
  if (patch.locale !== undefined) row.locale = patch.locale;
  if (patch.phoneNumber !== undefined) row.phone_number = patch.phoneNumber;
  if (patch.phoneNumberVerified !== undefined)
    row.phone_number_verified = flag(patch.phoneNumberVerified);
  if (patch.address !== undefined) row.address = toJson(patch.address);
  if (patch.role !== undefined) row.role = patch.role;
  if (patch.twoFactor !== undefined) row.two_factor = flag(patch.twoFactor);
  if (patch.pendingEmail !== undefined) {
    row.pending_email = patch.pendingEmail;
    row.pending_email_lower = patch.pendingEmail === null ? null : fold(patch.pendingEmail);
  }
  return row;
}

function conflict(error: unknown): never {
  if (isUniqueViolation(error)) {
    throw new ConflictError(violationText(error).includes('email') ? 'email' : 'username');
  }
  throw error;
}

const escapeLike = (value: string) => value.replace(/[\\%_]/g, (c) => `\\${c}`);

/** The person's columns, prefixed, for a query that joins `users` to a row that points to them. */
export const JOINED_USER_COLUMNS = USER_COLUMNS.map((c) => `users.${c} as user__${c}` as const);

const USER_ALIASES = USER_COLUMNS.map((c) => [c, `user__${c}`] as const);

/** The person of a row read with JOINED_USER_COLUMNS: a plain loop, as this runs on every request. */
export function joinedUser(row: Record<string, unknown>): User | undefined {
  if (row.user__id === null || row.user__id === undefined) return undefined;
  const user: Record<string, unknown> = {};
  for (const [column, alias] of USER_ALIASES) user[column] = row[alias];
  return toUser(user as unknown as UsersTable);
}

export function userStore(db: Kysely<Database>): UserStore {
  const byId = precompiled(db, (param) =>
    db.selectFrom('users').selectAll().where('id', '=', param<string>('id')),
  );
  const searchable = (search: string | undefined) =>
    db.selectFrom('users').$if(Boolean(search), (q) => {
      const prefix = `${escapeLike(fold(search!))}%`;
      // SQLite's LIKE has no escape character unless told; PostgreSQL's default is the same backslash.
      return q.where((eb) =>
        eb.or([
          sql<boolean>`${eb.ref('username_lower')} like ${prefix} escape '\\'`,
          sql<boolean>`${eb.ref('email_lower')} like ${prefix} escape '\\'`,
        ]),
      );
    });

  return {
    async create(user: NewUser) {
      // A NewUser has every field, so toColumns yields every column.
      const row = {
        ...toColumns(user),
        pending_email: null,
        pending_email_lower: null,
        id: user.id,
        created_at: user.createdAt,
        updated_at: user.createdAt,
      } as UsersTable;
      try {
        await db.insertInto('users').values(row).execute();
      } catch (error) {
        conflict(error);
      }
      return toUser(row);
    },

    async findById(id) {
      const row = (await byId({ id })).rows[0];
      return row && toUser(row);
    },

    async findByLogin(login) {
      // As email_lower is kept; usernames are ASCII, where folding is lower-casing.
      const key = fold(login);
      const row = await db
        .selectFrom('users')
        .selectAll()
        .where((eb) => eb.or([eb('username_lower', '=', key), eb('email_lower', '=', key)]))
        // A username that looks like someone else's e-mail must not shadow it: prefer the username match.
        .orderBy((eb) => eb.case().when('username_lower', '=', key).then(0).else(1).end())
        .executeTakeFirst();
      return row && toUser(row);
    },

    async findByPendingEmail(email) {
      const row = await db
        .selectFrom('users')
        .selectAll()
        .where('pending_email_lower', '=', fold(email))
        .orderBy('updated_at', 'desc')
        .orderBy('id')
        .executeTakeFirst();
      return row && toUser(row);
    },

    async dropPendingEmail(email, keepId, now) {
      const result = await db
        .updateTable('users')
        .set({ pending_email: null, pending_email_lower: null, updated_at: now })
        .where('pending_email_lower', '=', fold(email))
        .where('id', '!=', keepId)
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },

    async update(id, patch, now) {
      const columns = toColumns(patch);
      try {
        const row = await db
          .updateTable('users')
          .set({ ...columns, updated_at: now })
          .where('id', '=', id)
          .returningAll()
          .executeTakeFirst();
        return row && toUser(row);
      } catch (error) {
        conflict(error);
      }
    },

    async replacePasswordHash(id, oldHash, newHash) {
      const result = await db
        .updateTable('users')
        .set({ password_hash: newHash })
        .where('id', '=', id)
        .where('password_hash', '=', oldHash)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },

    async delete(id) {
      return db.transaction().execute(async (tx) => {
        const sessions = tx.selectFrom('sessions').select('id').where('user_id', '=', id);
        await tx.deleteFrom('session_clients').where('session_id', 'in', sessions).execute();
        await tx.deleteFrom('sessions').where('user_id', '=', id).execute();
        await tx.deleteFrom('device_codes').where('user_id', '=', id).execute();
        await tx.deleteFrom('tokens').where('user_id', '=', id).execute();
        await tx.deleteFrom('authorization_codes').where('user_id', '=', id).execute();
        await tx.deleteFrom('grants').where('user_id', '=', id).execute();
        await tx.deleteFrom('external_identities').where('user_id', '=', id).execute();
        await tx.deleteFrom('email_codes').where('user_id', '=', id).execute();
        await tx.deleteFrom('passkeys').where('user_id', '=', id).execute();
        await tx.deleteFrom('user_browsers').where('user_id', '=', id).execute();
        await tx.deleteFrom('password_resets').where('user_id', '=', id).execute();
        await tx.deleteFrom('recovery_codes').where('user_id', '=', id).execute();
        await tx.deleteFrom('user_totp').where('user_id', '=', id).execute();
        const result = await tx.deleteFrom('users').where('id', '=', id).executeTakeFirst();
        return result.numDeletedRows > 0n;
      });
    },

    async list({ limit, offset, search }: ListOptions) {
      const rows = await searchable(search)
        .selectAll()
        .orderBy('created_at')
        .orderBy('id')
        .limit(limit)
        .offset(offset)
        .execute();
      return rows.map(toUser);
    },

    async count(search) {
      const row = await searchable(search)
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}
