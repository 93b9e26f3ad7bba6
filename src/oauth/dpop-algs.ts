/**
 * The JWS algorithms Tessera accepts for DPoP proofs (RFC 9449 §4.3 step 5): asymmetric only, as
 * `none` and the MAC algorithms prove nothing about a key pair. Advertised in discovery as
 * `dpop_signing_alg_values_supported` and in every DPoP challenge (`algs`). Every one is one that
 * jose verifies with a key imported from the proof's `jwk`.
 */
export const DPOP_ALGS = [
  'ES256',
  'ES384',
  'ES512',
  'PS256',
  'PS384',
  'PS512',
  'RS256',
  'RS384',
  'RS512',
  'EdDSA',
  'Ed25519',
] as const;
