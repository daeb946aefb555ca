// LINE Login as the sandbox answers it: ID tokens (JWTs signed HS256 with the login channel's
// secret) it issues for tests, and the checks of `POST /oauth2/v2.1/verify`, in LINE's words.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { SANDBOX_LINE_LOGIN_CHANNEL_ID } from '../line-webhook.ts';
import type { Clock } from '../rolling-window.ts';
import { SandboxInputError } from './errors.ts';
import type { LineProfile } from './profiles.ts';

/** LINE signs web-login ID tokens (HS256) with the login channel's secret; this is the sandbox's. */
const SANDBOX_LINE_LOGIN_CHANNEL_SECRET = 'sandbox-line-login-channel-secret';
const ID_TOKEN_ISSUER = 'https://access.line.me';

export interface IdTokenSeed {
  userId: string;
  email?: string;
  /** default: the friend's display name, or a generated one */
  name?: string;
  /** default: the friend's picture (if any) */
  picture?: string;
  /** `aud`; default the sandbox login channel ID */
  clientId?: string;
  nonce?: string;
  /** default 3600; 0 or less: already expired */
  expiresInSeconds?: number;
  /** `amr`; default ["linesso"] */
  amr?: string[];
}

export interface IdTokenPayload {
  iss: string;
  sub: string;
  aud: string;
  exp: number;
  iat: number;
  nonce?: string;
  amr: string[];
  name?: string;
  picture?: string;
  email?: string;
}

function b64urlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

export class LoginChannel {
  readonly channelId: string;
  private readonly channelSecret: string;

  constructor(
    options: { channelId?: string; channelSecret?: string },
    private readonly now: Clock,
  ) {
    this.channelId = options.channelId ?? SANDBOX_LINE_LOGIN_CHANNEL_ID;
    this.channelSecret = options.channelSecret ?? SANDBOX_LINE_LOGIN_CHANNEL_SECRET;
  }

  /** A LINE Login ID token (a JWT signed HS256 with the sandbox login channel's secret). */
  /** `profile`: the user's profile, for the default name and picture; `userId` already checked. */
  issue(userId: string, seed: IdTokenSeed, profile: LineProfile): { idToken: string; payload: IdTokenPayload } {
    for (const key of ['email', 'name', 'picture', 'clientId', 'nonce'] as const) {
      if (seed[key] !== undefined && typeof seed[key] !== 'string') throw new SandboxInputError(`${key} must be a string`);
    }
    const expiresIn = seed.expiresInSeconds ?? 3600;
    if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn)) throw new SandboxInputError('expiresInSeconds must be a number');
    const iat = Math.floor(this.now() / 1000);
    const payload: IdTokenPayload = {
      iss: ID_TOKEN_ISSUER,
      sub: userId,
      aud: seed.clientId ?? this.channelId,
      exp: iat + Math.trunc(expiresIn),
      iat,
      ...(seed.nonce !== undefined ? { nonce: seed.nonce } : {}),
      amr: seed.amr ?? ['linesso'],
      name: seed.name ?? profile.displayName,
      ...((seed.picture ?? profile.pictureUrl) !== undefined ? { picture: (seed.picture ?? profile.pictureUrl)! } : {}),
      ...(seed.email !== undefined ? { email: seed.email } : {}),
    };
    const signingInput = `${b64urlJson({ typ: 'JWT', alg: 'HS256' })}.${b64urlJson(payload)}`;
    const signature = createHmac('sha256', this.channelSecret).update(signingInput).digest('base64url');
    return { idToken: `${signingInput}.${signature}`, payload };
  }

  /** LINE Login's checks of `POST /oauth2/v2.1/verify`, in LINE's words. */
  verify(params: { id_token?: string; client_id?: string; nonce?: string; user_id?: string }): { ok: true; payload: IdTokenPayload } | { ok: false; description: string } {
    const fail = (description: string) => ({ ok: false as const, description });
    if (typeof params.id_token !== 'string' || params.id_token === '') return fail("Required parameter 'id_token' is missing.");
    if (typeof params.client_id !== 'string' || params.client_id === '') return fail("Required parameter 'client_id' is missing.");
    const parts = params.id_token.split('.');
    if (parts.length !== 3) return fail('Invalid IdToken.');
    const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
    let header: { alg?: unknown };
    let payload: IdTokenPayload;
    try {
      header = JSON.parse(Buffer.from(headerPart, 'base64url').toString('utf8')) as { alg?: unknown };
      payload = JSON.parse(Buffer.from(payloadPart, 'base64url').toString('utf8')) as IdTokenPayload;
    } catch {
      return fail('Invalid IdToken.');
    }
    if (header === null || typeof header !== 'object' || header.alg !== 'HS256' || payload === null || typeof payload !== 'object') return fail('Invalid IdToken.');
    const expected = Buffer.from(createHmac('sha256', this.channelSecret).update(`${headerPart}.${payloadPart}`).digest('base64url'));
    const given = Buffer.from(signaturePart);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return fail('Invalid IdToken.');
    if (payload.iss !== ID_TOKEN_ISSUER) return fail('Invalid IdToken Issuer.');
    if (typeof payload.exp !== 'number' || payload.exp * 1000 <= this.now()) return fail('IdToken expired.');
    if (payload.aud !== params.client_id) return fail('Invalid IdToken Audience.');
    if (params.nonce !== undefined && params.nonce !== '' && payload.nonce !== params.nonce) return fail('Invalid IdToken Nonce.');
    if (params.user_id !== undefined && params.user_id !== '' && payload.sub !== params.user_id) return fail('Invalid IdToken Subject.');
    return { ok: true, payload };
  }
}
