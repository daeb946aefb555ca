// LINE Login: verifies an ID token with LINE (`POST /oauth2/v2.1/verify`) and returns what LINE
// vouches for. The service never decodes or trusts a token itself, nor any client-sent claim.
import { isLineUserId } from './ids.ts';

/** The claims LINE returned for a token it accepted. */
export interface VerifiedIdToken {
  /** the LINE user ID (equals the webhook `source.userId` when the channels share a provider) */
  sub: string;
  aud: string;
  /** issued at, epoch seconds */
  iat: number;
  /** expires at, epoch seconds */
  exp: number;
  /** present only with the `email` scope and LINE's e-mail permission */
  email?: string;
}

export type IdTokenVerification = { ok: true; token: VerifiedIdToken } | { ok: false; reason: string };

/** LINE could not be asked (network, timeout, 429, 5xx, unexpected answer): the caller may try again later. */
export class LineLoginUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LineLoginUnavailableError';
  }
}

export interface LineLoginClientOptions {
  /** origin of LINE's API (LINE_API_BASE_URL) */
  baseUrl: string;
  /** the LINE Login channel ID: the `client_id` the token must be issued for */
  channelId: string;
  /** per verification; default 5 s */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

const ISSUER = 'https://access.line.me';

export interface LineLoginClient {
  /**
   * Asks LINE whether `idToken` is valid for this channel. `{ok: false}` when LINE says it is not
   * (invalid, expired, other channel); throws LineLoginUnavailableError when LINE could not say.
   */
  verifyIdToken(idToken: string): Promise<IdTokenVerification>;
}

/** The one LINE Login client setup: base URL, channel, timeout. */
export function createLineLoginClient({ baseUrl, channelId, timeoutMs = 5000, fetch: fetchImpl = fetch }: LineLoginClientOptions): LineLoginClient {
  const url = `${baseUrl.replace(/\/+$/, '')}/oauth2/v2.1/verify`;
  return {
    async verifyIdToken(idToken) {
      let response: Response;
      try {
        response = await fetchImpl(url, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ id_token: idToken, client_id: channelId }).toString(),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (error) {
        const e = error as Error;
        throw new LineLoginUnavailableError(e.name === 'TimeoutError' ? `LINE Login did not answer within ${timeoutMs} ms` : `LINE Login unreachable: ${e.message}`);
      }
      const text = await response.text().catch(() => '');
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = undefined;
      }
      if (response.status === 400) {
        // LINE's answer for an invalid, expired or foreign token: {"error", "error_description"}
        const description = (body as { error_description?: unknown } | undefined)?.error_description;
        return { ok: false, reason: typeof description === 'string' && description.length <= 200 ? description : 'Invalid IdToken.' };
      }
      if (!response.ok) {
        throw new LineLoginUnavailableError(`LINE Login answered ${response.status} (request id ${response.headers.get('x-line-request-id') ?? 'none'})`);
      }
      const claims = body as Partial<Record<keyof VerifiedIdToken | 'iss', unknown>> | undefined;
      if (!claims || typeof claims !== 'object' || typeof claims.sub !== 'string' || typeof claims.iat !== 'number' || typeof claims.exp !== 'number') {
        throw new LineLoginUnavailableError('LINE Login answered 200 without the expected claims');
      }
      // LINE checked these; checking again costs nothing and guards against a misrouted base URL.
      if (claims.iss !== ISSUER) return { ok: false, reason: 'Invalid IdToken Issuer.' };
      if (claims.aud !== channelId) return { ok: false, reason: 'Invalid IdToken Audience.' };
      if (!isLineUserId(claims.sub)) return { ok: false, reason: 'IdToken subject is not a LINE user ID.' };
      const token: VerifiedIdToken = { sub: claims.sub, aud: claims.aud, iat: claims.iat, exp: claims.exp };
      if (typeof claims.email === 'string' && claims.email.trim() !== '') token.email = claims.email;
      return { ok: true, token };
    },
  };
}
