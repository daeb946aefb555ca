// The operator's credentials: the admin token (ADMIN_TOKEN) as a bearer token (JSON routes), as the
// password of HTTP Basic (any user name), or as the console's session cookie (set by its sign-in
// form). The cookie holds a value derived from the token, never the token itself: changing
// ADMIN_TOKEN signs every browser out.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';

export const SESSION_COOKIE = 'lhs_console';
/** a signed-in browser stays so for this long */
export const SESSION_MAX_AGE_S = 12 * 3600;

/** The token's hash, so that the comparison takes the same time whatever the given token's length. */
const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

export class AdminAuth {
  private readonly expected: Buffer;
  private readonly session: string;

  constructor(adminToken: string) {
    this.expected = digest(adminToken);
    this.session = createHmac('sha256', adminToken).update('line-hubspot-sync console session v1').digest('base64url');
  }

  isToken(candidate: string): boolean {
    return timingSafeEqual(digest(candidate), this.expected);
  }

  /** `Authorization: Bearer <token>` */
  bearer(request: FastifyRequest): boolean {
    const match = /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(request.headers.authorization ?? '');
    return match !== null && this.isToken(match[1]!);
  }

  /** `Authorization: Basic base64(<any user>:<token>)` */
  basic(request: FastifyRequest): boolean {
    const match = /^Basic[ \t]+([A-Za-z0-9+/=]+)[ \t]*$/i.exec(request.headers.authorization ?? '');
    if (!match) return false;
    const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon >= 0 && this.isToken(decoded.slice(colon + 1));
  }

  /** The console's session cookie. */
  cookie(request: FastifyRequest): boolean {
    const value = cookieValue(request.headers.cookie, SESSION_COOKIE);
    return value !== undefined && timingSafeEqual(digest(value), digest(this.session));
  }

  /** Whoever may use the console: Basic, the cookie, or a bearer token. */
  console(request: FastifyRequest): boolean {
    return this.basic(request) || this.cookie(request) || this.bearer(request);
  }

  /** `Set-Cookie` that signs a browser in: HttpOnly, SameSite=Strict, Secure over HTTPS, scoped to /console. */
  sessionCookie(secure: boolean): string {
    return `${SESSION_COOKIE}=${this.session}; Path=/console; HttpOnly; SameSite=Strict; Max-Age=${SESSION_MAX_AGE_S}${secure ? '; Secure' : ''}`;
  }

  static signOutCookie(secure: boolean): string {
    return `${SESSION_COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0${secure ? '; Secure' : ''}`;
  }
}

export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
