import type { ResourceOptions, TokenVerifier } from './types.js';

export function createTokenVerifier(options: ResourceOptions): TokenVerifier {
  void options;
  return {
    async verify() {
      throw new Error('TODO: not yet');
    },
  };
}
