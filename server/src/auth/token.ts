/**
 * Player tokens: HS256 JWTs whose `sub` is the user id. The algorithm is pinned on verification
 * (so `alg: none` and RS/HS confusion are refused) and `exp` is required.
 */
import { webcrypto } from 'node:crypto';
import { SignJWT, errors, jwtVerify } from 'jose';

export type TokenClaims = { userId: string; expiresAtMs: number };
export type TokenCheck = { ok: true; claims: TokenClaims } | { ok: false; reason: string };

const algorithm = 'HS256';

export class TokenAuthority {
  /** Imported once: given the raw bytes, jose would import them again on every verification. */
  readonly #key: Promise<webcrypto.CryptoKey>;

  constructor(secret: string) {
    this.#key = webcrypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
    // Its failure reaches every caller through the promise; this only keeps it from counting as unhandled meanwhile.
    this.#key.catch(() => {});
  }

  async issue(userId: string, ttlSeconds: number, nowMs = Date.now()): Promise<string> {
    const issuedAt = Math.floor(nowMs / 1000);
    return new SignJWT({})
      .setProtectedHeader({ alg: algorithm, typ: 'JWT' })
      .setSubject(userId)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + ttlSeconds)
      .sign(await this.#key);
  }

  async verify(token: string): Promise<TokenCheck> {
    try {
      const { payload } = await jwtVerify(token, await this.#key, { algorithms: [algorithm], requiredClaims: ['exp', 'sub'] });
      if (typeof payload.sub !== 'string' || payload.sub.length === 0 || typeof payload.exp !== 'number') {
        return { ok: false, reason: 'token has no subject' };
      }
      return { ok: true, claims: { userId: payload.sub, expiresAtMs: payload.exp * 1000 } };
    } catch (error) {
      if (error instanceof errors.JWTExpired) return { ok: false, reason: 'token expired' };
      if (error instanceof errors.JOSEAlgNotAllowed) return { ok: false, reason: 'token algorithm not allowed' };
      if (error instanceof errors.JWTClaimValidationFailed) return { ok: false, reason: `token claim ${error.claim} is invalid` };
      if (error instanceof errors.JOSEError) return { ok: false, reason: 'token is invalid' };
      throw error;
    }
  }
}
