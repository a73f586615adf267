import { InvalidTokenError, type Principal } from '../oidc';

/**
 * A token verifier for tests of what stands before a face's handlers: `good` is `principal`'s
 * token, `expired` one the issuer signed that is too old, anything else a forged token.
 */
export function fakeVerifier(principal: Principal): { verify: (token: string) => Promise<Principal> } {
  return {
    verify: async (token) => {
      if (token === 'good') {
        return principal;
      }
      throw token === 'expired' ? new InvalidTokenError('the token has expired', true) : new InvalidTokenError('the token is not valid');
    },
  };
}
