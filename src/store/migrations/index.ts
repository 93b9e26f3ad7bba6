import type { Migration, MigrationProvider } from 'kysely';
import { initial } from './001_initial.js';
import { security } from './002_security.js';
import { emailFold } from './003_email_fold.js';
import { deviceCodes } from './004_device_codes.js';
import { clientKeys } from './005_client_keys.js';
import { externalIdentities } from './006_external_identities.js';
import { pushedRequests } from './007_pushed_requests.js';
import { dpop } from './008_dpop.js';
import { clientRegistration } from './009_client_registration.js';
import { apis } from './010_apis.js';
import { dynamicRegistration } from './011_dynamic_registration.js';
import { grantResources } from './012_grant_resources.js';
import { mail } from './013_mail.js';
import { emailCodes } from './014_email_codes.js';
import { passwordResets } from './015_password_resets.js';
import { totp } from './016_totp.js';
import { passkeys } from './017_passkeys.js';
import { codeOwners } from './018_code_owners.js';

export type Dialect = 'sqlite' | 'postgres';

/**
 * One list of migrations for both dialects, in order. A step that must differ
 * by dialect receives it, instead of a file per dialect per step.
 */
export function migrations(dialect: Dialect): MigrationProvider {
  const all: Record<string, Migration> = {
    '001_initial': initial(dialect),
    '002_security': security,
    '003_email_fold': emailFold(),
    '004_device_codes': deviceCodes,
    '005_client_keys': clientKeys,
    '006_external_identities': externalIdentities,
    '007_pushed_requests': pushedRequests,
    '008_dpop': dpop,
    '009_client_registration': clientRegistration,
    '010_apis': apis,
    '011_dynamic_registration': dynamicRegistration,
    '012_grant_resources': grantResources,
    '013_mail': mail,
    '014_email_codes': emailCodes,
    '015_password_resets': passwordResets,
    '016_totp': totp,
    '017_passkeys': passkeys,
    '018_code_owners': codeOwners,
  };
  return { getMigrations: async () => all };
}
