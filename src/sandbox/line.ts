// The sandbox LINE API: the parts of LINE's Messaging API and LINE Login the service relies on,
// behaving like LINE's (../shared/vendor-specs/line/messaging-api.yml, LINE's API reference), plus
// `/_sandbox/` control routes (no auth) to seed friends, block them, issue ID tokens and inject faults.
//
// Emulated:
// - GET  /v2/bot/profile/{userId}    (Bearer) profile of a friend; 404 for unknown / blocked users
// - GET  /v2/bot/followers/ids       (Bearer) follower IDs, paged with an opaque continuation token
// - GET  /v2/bot/info                (Bearer) the bot's own user ID (the webhooks' `destination`)
// - POST /oauth2/v2.1/verify         (form)   LINE Login ID-token verification
//
// The parts live in line/: the account's friends (account.ts), generated profiles (profiles.ts),
// LINE Login (login.ts), rate limit and stats (limits.ts), error bodies (errors.ts).
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { LINE_USER_ID_PATTERN } from '../line/ids.ts';
import { FaultInjector, installFaults, type FaultRule } from './faults.ts';
import { isControlPath, listenSandbox, type StartedSandbox } from './http.ts';
import { LineAccount, requireUserId, type BlockResult, type FollowResult, type FriendCounts, type FriendSeed, type FriendView } from './line/account.ts';
import { LINE_ERROR_MESSAGES, SandboxInputError, lineErrorBody, lineLoginErrorBody } from './line/errors.ts';
import { EndpointRateLimit, RequestStats, type EndpointStats } from './line/limits.ts';
import { LoginChannel, type IdTokenPayload, type IdTokenSeed } from './line/login.ts';
import type { ProfileSeed } from './line/profiles.ts';
import { SANDBOX_LINE_BOT_USER_ID, SANDBOX_LINE_CHANNEL_ACCESS_TOKEN, SANDBOX_LINE_CHANNEL_SECRET, SANDBOX_LINE_LOGIN_CHANNEL_ID } from './line-webhook.ts';
import type { Clock } from './rolling-window.ts';

export { SANDBOX_LINE_BOT_USER_ID, SANDBOX_LINE_CHANNEL_ACCESS_TOKEN, SANDBOX_LINE_CHANNEL_SECRET, SANDBOX_LINE_LOGIN_CHANNEL_ID };
export { LINE_ERROR_MESSAGES, SandboxInputError, lineErrorBody, lineLoginErrorBody } from './line/errors.ts';
export { generatedProfile, type LineProfile, type ProfileSeed } from './line/profiles.ts';
export type { BlockResult, FollowResult, FriendCounts, FriendSeed, FriendState, FriendView } from './line/account.ts';
export type { IdTokenPayload, IdTokenSeed } from './line/login.ts';
export type { EndpointStats } from './line/limits.ts';
export type { FaultRule } from './faults.ts';

export interface LineSandboxSettings {
  followersIdsAllowed: boolean;
  /** per endpoint (method + path), rolling 1 s window; 0: unlimited */
  rateLimitPerSecond: number;
}

export interface LineSandboxOptions {
  channelAccessToken?: string;
  loginChannelId?: string;
  loginChannelSecret?: string;
  /** default true; false: the account is unverified and gets 403 on the follower IDs */
  followersIdsAllowed?: boolean;
  /** default 2000 (LINE's limit for these endpoints); 0: unlimited */
  rateLimitPerSecond?: number;
  /** the sandbox's clock (ms): ID tokens and the rate limit's window; default Date.now (performance.now for the limit) */
  now?: Clock;
  logger?: FastifyServerOptions['logger'];
}

/** What tests, benchmarks and `npm run line` do to the sandbox in-process (the `/_sandbox/` routes do the same over HTTP). */
export interface LineSandboxControls {
  readonly channelAccessToken: string;
  readonly loginChannelId: string;
  readonly botUserId: string;
  /** Adds friends (or updates known users' profile and state), in order, without webhooks. */
  seedFriends(seeds: FriendSeed[]): FriendView[];
  /** Adds `count` generated friends (virtual: O(1) whatever the count). */
  seedGeneratedFriends(count: number): { added: number; firstUserId?: string; lastUserId?: string } & FriendCounts;
  /** The user ID the sandbox gave the n-th generated friend of all (1-based over every seed). */
  generatedUserIdAt(seq: number): string | undefined;
  /** Adds a friend, or unblocks one (LINE then sends `follow` with `isUnblocked: true`). */
  follow(userId: string, profile?: ProfileSeed): FollowResult;
  /** The friend blocks the account. Undefined when LINE does not know the user. */
  block(userId: string): BlockResult | undefined;
  /** Forgets a user entirely (as if they never met the account). */
  remove(userId: string): boolean;
  /** What the sandbox knows about a user (also blocked ones), or undefined. */
  getFriend(userId: string): FriendView | undefined;
  counts(): FriendCounts;
  /** All current followers' IDs in follower order (O(n)). */
  followerIds(): string[];
  /** Up to `limit` follower IDs from `position` in follower order, as the follower-IDs API pages them. */
  followersPage(position: number, limit: number): { userIds: string[]; nextPosition?: number };
  /** The follower-IDs API's continuation token for a position. */
  encodeContinuation(position: number): string;
  settings(): LineSandboxSettings;
  updateSettings(update: Partial<LineSandboxSettings>): LineSandboxSettings;
  setFollowersIdsAllowed(allowed: boolean): void;
  setRateLimit(perSecond: number): void;
  /** The next `count` calls (under `pathPrefix`, if given) answer `status` with LINE's error body. */
  injectFault(rule: { status: number; count?: number; pathPrefix?: string; body?: unknown; headers?: Record<string, string> }): void;
  pendingFaults(): FaultRule[];
  clearFaults(): void;
  /** A LINE Login ID token (a JWT signed HS256 with the sandbox login channel's secret). */
  seedIdToken(seed: IdTokenSeed): { idToken: string; payload: IdTokenPayload };
  stats(): Record<string, EndpointStats>;
  /** Back to an empty account: no friends, no faults, no stats, initial settings; old tokens stop working. */
  reset(): void;
}

export type LineSandboxApp = FastifyInstance & { lineSandbox: LineSandboxControls };

function endpointKey(request: FastifyRequest): string {
  return `${request.method} ${request.routeOptions.url ?? '(no route)'}`;
}

function bodyObject(request: FastifyRequest): Record<string, unknown> {
  const body = request.body;
  if (body === undefined || body === null || body === '') return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw new SandboxInputError('the body must be a JSON object');
  return body as Record<string, unknown>;
}

export function buildLineSandbox(options: LineSandboxOptions = {}): LineSandboxApp {
  const now = options.now ?? Date.now;
  const account = new LineAccount();
  const login = new LoginChannel({ channelId: options.loginChannelId, channelSecret: options.loginChannelSecret }, now);
  const faults = new FaultInjector();
  const stats = new RequestStats();
  const initialSettings: LineSandboxSettings = {
    followersIdsAllowed: options.followersIdsAllowed ?? true,
    rateLimitPerSecond: options.rateLimitPerSecond ?? 2000,
  };
  let settings: LineSandboxSettings = { ...initialSettings };
  // A monotonic clock unless told otherwise: a wall-clock step must not open or close the window.
  const rateLimit = new EndpointRateLimit(settings.rateLimitPerSecond, options.now ?? (() => performance.now()));

  const controls: LineSandboxControls = {
    channelAccessToken: options.channelAccessToken ?? SANDBOX_LINE_CHANNEL_ACCESS_TOKEN,
    loginChannelId: login.channelId,
    botUserId: SANDBOX_LINE_BOT_USER_ID,
    seedFriends: (seeds) => account.seedFriends(seeds),
    seedGeneratedFriends: (count) => account.seedGeneratedFriends(count),
    generatedUserIdAt: (seq) => account.generatedUserIdAt(seq),
    follow: (userId, profile) => account.follow(userId, profile),
    block: (userId) => account.block(userId),
    remove: (userId) => account.remove(userId),
    getFriend: (userId) => account.getFriend(userId),
    counts: () => account.counts(),
    followerIds: () => account.followerIds(),
    followersPage: (position, limit) => account.followersPage(position, limit),
    encodeContinuation: (position) => account.encodeContinuation(position),
    settings: () => ({ ...settings }),
    updateSettings(update) {
      if (update.followersIdsAllowed !== undefined) {
        if (typeof update.followersIdsAllowed !== 'boolean') throw new SandboxInputError('followersIdsAllowed must be true or false');
        settings.followersIdsAllowed = update.followersIdsAllowed;
      }
      if (update.rateLimitPerSecond !== undefined) {
        const limit = update.rateLimitPerSecond;
        if (!Number.isInteger(limit) || limit < 0 || limit > 1_000_000) throw new SandboxInputError('rateLimitPerSecond must be a whole number from 0 (unlimited) to 1000000');
        settings.rateLimitPerSecond = limit;
        rateLimit.setLimit(limit);
      }
      return controls.settings();
    },
    setFollowersIdsAllowed: (allowed) => void controls.updateSettings({ followersIdsAllowed: allowed }),
    setRateLimit: (perSecond) => void controls.updateSettings({ rateLimitPerSecond: perSecond }),
    injectFault(rule) {
      const full: FaultRule = { ...rule, count: rule.count ?? 1 };
      if (full.body === undefined && full.pathPrefix?.startsWith('/oauth2/')) full.body = lineLoginErrorBody(full.status);
      try {
        faults.add(full);
      } catch (error) {
        throw new SandboxInputError((error as Error).message);
      }
    },
    pendingFaults: () => faults.pending(),
    clearFaults: () => faults.clear(),
    seedIdToken(seed) {
      const userId = requireUserId(seed.userId);
      return login.issue(userId, seed, account.profileFor(userId));
    },
    stats: () => stats.snapshot(),
    reset() {
      account.reset();
      faults.clear();
      stats.clear();
      settings = { ...initialSettings };
      rateLimit.setLimit(settings.rateLimitPerSecond);
    },
  };

  const app = Fastify({ logger: options.logger ?? false });

  // LINE Login takes form bodies
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  app.addHook('onRequest', async (request, reply) => {
    if (!isControlPath(request.url)) reply.header('x-line-request-id', randomUUID());
  });
  installFaults(app, faults, lineErrorBody);
  app.addHook('onResponse', async (request, reply) => {
    if (!isControlPath(request.url)) stats.record(endpointKey(request), reply.statusCode);
  });

  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send(request.url.startsWith('/oauth2/') ? { error: 'not_found', error_description: 'Not found.' } : { message: LINE_ERROR_MESSAGES.notFound });
  });
  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    const status = error instanceof SandboxInputError ? error.statusCode : (error.statusCode ?? 500);
    if (isControlPath(request.url)) return reply.code(status).send({ message: error.message });
    if (request.url.startsWith('/oauth2/')) return reply.code(status).send(status >= 500 ? lineLoginErrorBody(status) : { error: 'invalid_request', error_description: error.message });
    return reply.code(status).send(status >= 500 ? lineErrorBody(status) : { message: error.message });
  });

  // --- Messaging API (Bearer channel access token) -----------------------------------------
  // --- Messaging API (Bearer channel access token) -----------------------------------------

  const expectedAuth = Buffer.from(`Bearer ${controls.channelAccessToken}`);
  const authenticate = async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers.authorization;
    if (header === undefined || header === '') {
      return reply.code(401).send({ message: LINE_ERROR_MESSAGES.missingAuthorization });
    }
    const given = Buffer.from(header);
    if (given.length !== expectedAuth.length || !timingSafeEqual(given, expectedAuth)) {
      return reply.code(401).send({ message: LINE_ERROR_MESSAGES.invalidToken });
    }
    if (!rateLimit.tryAcquire(endpointKey(request))) {
      return reply.code(429).send({ message: LINE_ERROR_MESSAGES.rateLimited });
    }
  };

  app.get<{ Params: { userId: string } }>('/v2/bot/profile/:userId', { preHandler: authenticate }, async (request, reply) => {
    const { userId } = request.params;
    if (!LINE_USER_ID_PATTERN.test(userId)) return reply.code(400).send({ message: LINE_ERROR_MESSAGES.invalidUserId });
    const profile = account.profileOf(userId);
    if (!profile) return reply.code(404).send({ message: LINE_ERROR_MESSAGES.notFound });
    return profile;
  });

  app.get<{ Querystring: Record<string, unknown> }>('/v2/bot/followers/ids', { preHandler: authenticate }, async (request, reply) => {
    if (!controls.settings().followersIdsAllowed) return reply.code(403).send({ message: LINE_ERROR_MESSAGES.forbidden });
    const { start, limit: rawLimit } = request.query;
    let limit = 300;
    if (rawLimit !== undefined) {
      const text = typeof rawLimit === 'string' ? rawLimit : '';
      const value = /^-?\d{1,10}$/.test(text) ? Number(text) : Number.NaN;
      let problem: string | undefined;
      if (Number.isNaN(value)) problem = 'must be an integer';
      else if (value > 1000) problem = 'must be less than or equal to 1000';
      else if (value < 1) problem = 'must be greater than or equal to 1';
      if (problem !== undefined) {
        return reply.code(400).send({ message: 'The request body has 1 error(s)', details: [{ message: problem, property: 'limit' }] });
      }
      limit = value;
    }
    let position = 1;
    if (start !== undefined && start !== '') {
      const decoded = typeof start === 'string' ? account.decodeContinuation(start) : undefined;
      if (decoded === undefined) return reply.code(400).send({ message: LINE_ERROR_MESSAGES.invalidStart });
      position = decoded;
    }
    const page = account.followersPage(position, limit);
    return page.nextPosition === undefined ? { userIds: page.userIds } : { userIds: page.userIds, next: account.encodeContinuation(page.nextPosition) };
  });

  app.get('/v2/bot/info', { preHandler: authenticate }, async () => ({
    userId: controls.botUserId,
    basicId: '@000sandbox',
    displayName: 'Sandbox LINE Official Account',
    chatMode: 'chat',
    markAsReadMode: 'manual',
  }));

  // --- LINE Login ------------------------------------------------------------------------------

  app.post('/oauth2/v2.1/verify', async (request, reply) => {
    const contentType = String(request.headers['content-type'] ?? '');
    // LINE reads form parameters only: a JSON body carries none
    const params = contentType.startsWith('application/x-www-form-urlencoded') ? (request.body as Record<string, string>) : {};
    const result = login.verify(params);
    if (!result.ok) return reply.code(400).send({ error: 'invalid_request', error_description: result.description });
    return result.payload;
  });

  // --- controls (no auth) ----------------------------------------------------------------------

  app.post('/_sandbox/friends', { bodyLimit: 256 * 1024 * 1024 }, async (request) => {
    const body = bodyObject(request);
    if (body.count !== undefined) {
      if (typeof body.count !== 'number') throw new SandboxInputError('count must be a number');
      return controls.seedGeneratedFriends(body.count);
    }
    if (!Array.isArray(body.friends)) throw new SandboxInputError('send {"friends": [...]} or {"count": N}');
    const friends = controls.seedFriends(body.friends as FriendSeed[]);
    return { added: friends.length, seeded: friends.length <= 10_000 ? friends : undefined, ...controls.counts() };
  });

  app.get('/_sandbox/friends', async () => controls.counts());

  app.get<{ Params: { userId: string } }>('/_sandbox/friends/:userId', async (request, reply) => {
    const friend = controls.getFriend(request.params.userId);
    if (!friend) return reply.code(404).send({ message: `LINE does not know ${request.params.userId}` });
    return friend;
  });

  const follow = async (request: FastifyRequest<{ Params: { userId: string } }>) => {
    const body = bodyObject(request);
    return controls.follow(request.params.userId, {
      displayName: body.displayName as string | undefined,
      pictureUrl: body.pictureUrl as string | null | undefined,
      statusMessage: body.statusMessage as string | null | undefined,
      language: body.language as string | null | undefined,
    });
  };
  app.post<{ Params: { userId: string } }>('/_sandbox/friends/:userId/follow', follow);
  app.post<{ Params: { userId: string } }>('/_sandbox/friends/:userId/unblock', follow);

  app.post<{ Params: { userId: string } }>('/_sandbox/friends/:userId/block', async (request, reply) => {
    const result = controls.block(request.params.userId);
    if (!result) return reply.code(404).send({ message: `LINE does not know ${request.params.userId}: follow first` });
    return result;
  });

  app.delete<{ Params: { userId: string } }>('/_sandbox/friends/:userId', async (request, reply) => {
    if (!controls.remove(request.params.userId)) return reply.code(404).send({ message: `LINE does not know ${request.params.userId}` });
    return { userId: request.params.userId, removed: true };
  });

  app.post('/_sandbox/id-tokens', async (request) => {
    const body = bodyObject(request);
    return { idToken: controls.seedIdToken(body as unknown as IdTokenSeed).idToken };
  });

  app.get('/_sandbox/settings', async () => controls.settings());
  app.post('/_sandbox/settings', async (request) => controls.updateSettings(bodyObject(request) as Partial<LineSandboxSettings>));

  app.post('/_sandbox/faults', async (request) => {
    const body = bodyObject(request);
    if (typeof body.status !== 'number') throw new SandboxInputError('status must be a number');
    if (body.count !== undefined && typeof body.count !== 'number') throw new SandboxInputError('count must be a number');
    if (body.pathPrefix !== undefined && typeof body.pathPrefix !== 'string') throw new SandboxInputError('pathPrefix must be a string');
    controls.injectFault({
      status: body.status,
      count: body.count as number | undefined,
      pathPrefix: body.pathPrefix as string | undefined,
      body: body.body,
      headers: body.headers as Record<string, string> | undefined,
    });
    return { pending: controls.pendingFaults() };
  });
  app.get('/_sandbox/faults', async () => ({ pending: controls.pendingFaults() }));
  app.delete('/_sandbox/faults', async () => {
    controls.clearFaults();
    return { pending: [] };
  });

  app.get('/_sandbox/stats', async () => controls.stats());

  app.post('/_sandbox/reset', async () => {
    controls.reset();
    return { reset: true, ...controls.counts() };
  });

  app.decorate('lineSandbox', controls);
  return app as unknown as LineSandboxApp;
}

export type StartedLineSandbox = StartedSandbox<LineSandboxApp, LineSandboxControls>;

/** Starts the sandbox LINE API. `port` 0 (the default) picks a free port. */
export async function startLineSandbox(options: LineSandboxOptions & { port?: number; host?: string } = {}): Promise<StartedLineSandbox> {
  const { port, host, ...rest } = options;
  const app = buildLineSandbox(rest);
  return listenSandbox(app, app.lineSandbox, { port, host });
}
