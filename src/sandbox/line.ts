// The sandbox LINE API: the parts of LINE's Messaging API and LINE Login the service relies on,
// behaving like LINE's (../shared/vendor-specs/line/messaging-api.yml, LINE's API reference), plus
// `/_sandbox/` control routes to seed friends, block them, issue ID tokens and inject faults.
//
// Emulated:
// - GET  /v2/bot/profile/{userId}    (Bearer) profile of a friend; 404 for unknown / blocked users
// - GET  /v2/bot/followers/ids       (Bearer) follower IDs, paged with an opaque continuation token
// - GET  /v2/bot/info                (Bearer) the bot's own user ID (the webhooks' `destination`)
// - POST /oauth2/v2.1/verify         (form)   LINE Login ID-token verification
//
// Friends live in memory. Friends seeded by count are virtual: their user IDs and profiles are
// computed from their sequence number (a user ID is an AES block of the number, so it can be
// decoded back), so a million friends cost a few bytes, and a follower page costs O(page).
// Follower order is the friends' insertion order; a continuation token is a position in it, so
// friends blocking between pages neither skip nor repeat anybody else.
import { LINE_USER_ID_PATTERN } from '../line/ids.ts';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { FaultInjector, installFaults, type FaultRule } from './faults.ts';
import {
  SANDBOX_LINE_BOT_USER_ID,
  SANDBOX_LINE_CHANNEL_ACCESS_TOKEN,
  SANDBOX_LINE_CHANNEL_SECRET,
  SANDBOX_LINE_LOGIN_CHANNEL_ID,
  newLineUserId,
} from './line-webhook.ts';

export { SANDBOX_LINE_BOT_USER_ID, SANDBOX_LINE_CHANNEL_ACCESS_TOKEN, SANDBOX_LINE_CHANNEL_SECRET, SANDBOX_LINE_LOGIN_CHANNEL_ID };
/** LINE signs web-login ID tokens (HS256) with the login channel's secret; this is the sandbox's. */
const SANDBOX_LINE_LOGIN_CHANNEL_SECRET = 'sandbox-line-login-channel-secret';
const ID_TOKEN_ISSUER = 'https://access.line.me';

/** LINE's error messages (`{"message": ...}`) as its API answers them. */
export const LINE_ERROR_MESSAGES = {
  missingAuthorization: "Authorization header required. Must follow the scheme, 'Authorization: Bearer <ACCESS TOKEN>'",
  invalidToken: 'Authentication failed. Confirm that the access token in the authorization header is valid.',
  notFound: 'Not found',
  invalidUserId: "The value for the 'userId' parameter is invalid",
  invalidStart: "The value for the 'start' parameter is invalid",
  forbidden: 'Access to this API is not available for your account',
  rateLimited: 'The API rate limit has been exceeded. Try again later.',
  serverError: 'Internal server error',
} as const;


/** The Messaging API's error body for a status (also the default body of injected faults). */
export function lineErrorBody(status: number): { message: string } {
  switch (status) {
    case 400:
      return { message: 'Bad request' };
    case 401:
      return { message: LINE_ERROR_MESSAGES.invalidToken };
    case 403:
      return { message: LINE_ERROR_MESSAGES.forbidden };
    case 404:
      return { message: LINE_ERROR_MESSAGES.notFound };
    case 429:
      return { message: LINE_ERROR_MESSAGES.rateLimited };
    case 500:
      return { message: LINE_ERROR_MESSAGES.serverError };
    case 502:
      return { message: 'Bad gateway' };
    case 503:
      return { message: 'Service unavailable' };
    case 504:
      return { message: 'Gateway timeout' };
    default:
      return { message: status >= 500 ? LINE_ERROR_MESSAGES.serverError : 'Bad request' };
  }
}

/** LINE Login's error body (`/oauth2/...`) for a status. */
export function lineLoginErrorBody(status: number): { error: string; error_description: string } {
  if (status === 429) return { error: 'too_many_requests', error_description: 'Too many requests.' };
  if (status >= 500) return { error: 'server_error', error_description: 'Internal server error.' };
  return { error: 'invalid_request', error_description: 'Invalid request.' };
}

// ---------------------------------------------------------------------------------------------
// Types

export type FriendState = 'friend' | 'blocked';

export interface LineProfile {
  displayName: string;
  pictureUrl?: string;
  statusMessage?: string;
  language?: string;
}

export interface FriendSeed {
  /** default: a fresh `U` + 32 hex */
  userId?: string;
  /** default: a generated Japanese-ish name */
  displayName?: string;
  /** default: a generated URL; `null`: no picture */
  pictureUrl?: string | null;
  /** default: sometimes one; `null`: none */
  statusMessage?: string | null;
  /** default: usually `ja`; `null`: none (user has not consented to LINE's privacy policy) */
  language?: string | null;
  /** default `friend` */
  state?: FriendState;
}

export interface FriendView extends LineProfile {
  userId: string;
  state: FriendState;
  /** position in the follower order */
  seq: number;
}

export interface FollowResult {
  userId: string;
  state: 'friend';
  /** `unknown`: a new friend; `blocked`: an unblock (LINE's `follow.isUnblocked: true`) */
  previousState: FriendState | 'unknown';
  profile: LineProfile;
}

export interface BlockResult {
  userId: string;
  state: 'blocked';
  previousState: FriendState;
}

export interface FriendCounts {
  friends: number;
  blocked: number;
  total: number;
}

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

export interface EndpointStats {
  requests: number;
  statuses: Record<string, number>;
}

export interface LineSandboxSettings {
  followersIdsAllowed: boolean;
  /** per endpoint (method + path), sliding 1 s window; 0: unlimited */
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
  /** clock for ID tokens (ms); default Date.now */
  now?: () => number;
  logger?: FastifyServerOptions['logger'];
}

/** A rejected control request (HTTP 400 / 404 on the control routes). */
export class SandboxInputError extends Error {
  constructor(
    message: string,
    readonly statusCode: number = 400,
  ) {
    super(message);
    this.name = 'SandboxInputError';
  }
}

// ---------------------------------------------------------------------------------------------
// Generated profiles (deterministic from a key: a friend's sequence number or user ID)

const FAMILY: Array<[string, string]> = [
  ['佐藤', 'Sato'], ['鈴木', 'Suzuki'], ['高橋', 'Takahashi'], ['田中', 'Tanaka'], ['伊藤', 'Ito'],
  ['渡辺', 'Watanabe'], ['山本', 'Yamamoto'], ['中村', 'Nakamura'], ['小林', 'Kobayashi'], ['加藤', 'Kato'],
  ['吉田', 'Yoshida'], ['山田', 'Yamada'], ['佐々木', 'Sasaki'], ['山口', 'Yamaguchi'], ['松本', 'Matsumoto'],
  ['井上', 'Inoue'], ['木村', 'Kimura'], ['林', 'Hayashi'], ['斎藤', 'Saito'], ['清水', 'Shimizu'],
];
const GIVEN: Array<[string, string, string]> = [
  ['陽翔', 'Haruto', 'はると'], ['蓮', 'Ren', 'れん'], ['湊', 'Minato', 'みなと'], ['大和', 'Yamato', 'やまと'],
  ['陽菜', 'Hina', 'ひな'], ['結菜', 'Yuna', 'ゆな'], ['葵', 'Aoi', 'あおい'], ['凛', 'Rin', 'りん'],
  ['咲良', 'Sakura', 'さくら'], ['芽依', 'Mei', 'めい'], ['翔太', 'Shota', 'しょうた'], ['健太', 'Kenta', 'けんた'],
  ['美咲', 'Misaki', 'みさき'], ['愛', 'Ai', 'あい'], ['大輝', 'Daiki', 'だいき'], ['拓海', 'Takumi', 'たくみ'],
  ['花子', 'Hanako', 'はなこ'], ['太郎', 'Taro', 'たろう'], ['由美', 'Yumi', 'ゆみ'], ['直樹', 'Naoki', 'なおき'],
];
const EMOJI = ['🌸', '☀️', '🍀', '🐱', '⭐', '🎵', '🍣', '🗻'];
const STATUS_MESSAGES = ['よろしくお願いします！', '毎日がんばる💪', 'Hello, LINE!', '旅行中✈️', '🍜🍜🍜', 'おやすみなさい'];
const LANGUAGES = ['ja', 'ja', 'ja', 'ja', 'ja', 'ja', 'en', 'zh-TW', 'th'];

function pick<T>(list: readonly T[], n: number): T {
  return list[n % list.length]!;
}

/** A realistic-looking LINE profile, the same for the same key. */
export function generatedProfile(key: string | number): LineProfile {
  const digest = createHash('sha256').update(`line-sandbox-profile:${key}`).digest();
  const h = (i: number) => digest.readUInt32BE(i * 4);
  const [familyKanji, familyRomaji] = pick(FAMILY, h(0));
  const [givenKanji, givenRomaji, givenKana] = pick(GIVEN, h(1));
  const emoji = pick(EMOJI, h(2));
  let displayName: string;
  switch (h(3) % 16) {
    case 0: case 1: case 2: case 3: displayName = `${familyKanji} ${givenKanji}`; break;
    case 4: case 5: case 6: displayName = `${familyKanji}${givenKanji}`; break;
    case 7: case 8: displayName = givenKana; break;
    case 9: displayName = `${givenKana}${emoji}`; break;
    case 10: case 11: displayName = `${givenRomaji} ${familyRomaji}`; break;
    case 12: displayName = givenRomaji.toLowerCase(); break;
    case 13: displayName = givenKanji; break;
    case 14: displayName = `${givenRomaji}.${familyRomaji.charAt(0)}`; break;
    default: displayName = `${emoji} ${givenKanji} ${emoji}`;
  }
  const profile: LineProfile = { displayName };
  if (h(4) % 10 !== 0) profile.pictureUrl = `https://profile.line-scdn.net/0h${digest.subarray(20, 32).toString('base64url')}${createHash('sha256').update(`pic:${key}`).digest('base64url').slice(0, 40)}`;
  if (h(5) % 4 === 0) profile.statusMessage = pick(STATUS_MESSAGES, h(6));
  if (h(6) % 12 !== 0) profile.language = pick(LANGUAGES, h(7));
  return profile;
}

// ---------------------------------------------------------------------------------------------
// Rate limiting: a sliding one-second window per endpoint

class SlidingWindowLimiter {
  private windows = new Map<string, { times: Float64Array; next: number }>();

  constructor(private limit: number) {}

  setLimit(limit: number): void {
    this.limit = limit;
    this.windows.clear();
  }

  /** false when `key` already had `limit` accepted calls within the last second */
  tryAcquire(key: string, nowMs: number): boolean {
    if (!(this.limit > 0) || !Number.isFinite(this.limit)) return true;
    let window = this.windows.get(key);
    if (!window) {
      window = { times: new Float64Array(this.limit).fill(Number.NEGATIVE_INFINITY), next: 0 };
      this.windows.set(key, window);
    }
    // the slot about to be overwritten holds the call `limit` calls ago
    if (nowMs - window.times[window.next]! < 1000) return false;
    window.times[window.next] = nowMs;
    window.next = (window.next + 1) % this.limit;
    return true;
  }

  clear(): void {
    this.windows.clear();
  }
}

// ---------------------------------------------------------------------------------------------
// State and controls

interface FriendRecord {
  seq: number;
  userId: string;
  state: FriendState | 'removed';
  profile: LineProfile;
}

interface Range {
  start: number;
  /** exclusive */
  end: number;
}

const GENERATED_MAGIC = Buffer.from('4c494e4553424f58', 'hex'); // "LINESBOX"

function b64urlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

function cleanProfile(profile: LineProfile): LineProfile {
  const out: LineProfile = { displayName: profile.displayName };
  if (profile.pictureUrl !== undefined) out.pictureUrl = profile.pictureUrl;
  if (profile.statusMessage !== undefined) out.statusMessage = profile.statusMessage;
  if (profile.language !== undefined) out.language = profile.language;
  return out;
}

function applyProfileSeed(base: LineProfile, seed: Omit<FriendSeed, 'userId' | 'state'>): LineProfile {
  const out: LineProfile = { ...base };
  if (seed.displayName !== undefined) {
    if (typeof seed.displayName !== 'string' || seed.displayName === '') throw new SandboxInputError('displayName must be a non-empty string');
    out.displayName = seed.displayName;
  }
  for (const key of ['pictureUrl', 'statusMessage', 'language'] as const) {
    const value = seed[key];
    if (value === undefined) continue;
    if (value === null) delete out[key];
    else if (typeof value !== 'string') throw new SandboxInputError(`${key} must be a string or null`);
    else out[key] = value;
  }
  if (out.pictureUrl !== undefined && !/^https?:\/\/\S+$/.test(out.pictureUrl)) throw new SandboxInputError('pictureUrl must be an http(s) URL');
  return cleanProfile(out);
}

/** The sandbox's state, and the controls tests and the `npm run line` command use. */
export class LineSandboxControls {
  readonly faults = new FaultInjector();
  readonly channelAccessToken: string;
  readonly loginChannelId: string;
  readonly botUserId = SANDBOX_LINE_BOT_USER_ID;
  private readonly loginChannelSecret: string;
  private readonly now: () => number;
  private readonly initialSettings: LineSandboxSettings;
  private settingsValue: LineSandboxSettings;
  private readonly limiter: SlidingWindowLimiter;

  private records = new Map<number, FriendRecord>();
  private idToSeq = new Map<string, number>();
  private ranges: Range[] = [];
  private nextSeq = 1;
  private friendCount = 0;
  private blockedCount = 0;
  private epoch = 0;
  private readonly tokenKey = randomBytes(32);
  /** deterministic, so that the n-th generated friend has the same user ID in every run */
  private readonly idKey = createHash('sha256').update('line-sandbox-generated-user-ids').digest().subarray(0, 16);
  private statsMap = new Map<string, EndpointStats>();

  constructor(options: LineSandboxOptions = {}) {
    this.channelAccessToken = options.channelAccessToken ?? SANDBOX_LINE_CHANNEL_ACCESS_TOKEN;
    this.loginChannelId = options.loginChannelId ?? SANDBOX_LINE_LOGIN_CHANNEL_ID;
    this.loginChannelSecret = options.loginChannelSecret ?? SANDBOX_LINE_LOGIN_CHANNEL_SECRET;
    this.now = options.now ?? Date.now;
    this.initialSettings = {
      followersIdsAllowed: options.followersIdsAllowed ?? true,
      rateLimitPerSecond: options.rateLimitPerSecond ?? 2000,
    };
    this.settingsValue = { ...this.initialSettings };
    this.limiter = new SlidingWindowLimiter(this.settingsValue.rateLimitPerSecond);
    this.epoch = randomBytes(4).readUInt32BE(0);
  }

  // --- generated (virtual) friends -------------------------------------------------------------

  private encodeGenerated(seqs: number[]): string[] {
    if (seqs.length === 0) return [];
    const blocks = Buffer.alloc(seqs.length * 16);
    seqs.forEach((seq, i) => {
      GENERATED_MAGIC.copy(blocks, i * 16);
      blocks.writeBigUInt64BE(BigInt(seq), i * 16 + 8);
    });
    const cipher = createCipheriv('aes-128-ecb', this.idKey, null).setAutoPadding(false);
    const encrypted = Buffer.concat([cipher.update(blocks), cipher.final()]);
    return seqs.map((_, i) => `U${encrypted.subarray(i * 16, i * 16 + 16).toString('hex')}`);
  }

  private decodeGenerated(userId: string): number | undefined {
    if (!LINE_USER_ID_PATTERN.test(userId)) return undefined;
    const decipher = createDecipheriv('aes-128-ecb', this.idKey, null).setAutoPadding(false);
    const plain = Buffer.concat([decipher.update(Buffer.from(userId.slice(1), 'hex')), decipher.final()]);
    if (!plain.subarray(0, 8).equals(GENERATED_MAGIC)) return undefined;
    const seq = plain.readBigUInt64BE(8);
    return seq <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(seq) : undefined;
  }

  private inGenerated(seq: number): boolean {
    let lo = 0;
    let hi = this.ranges.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const range = this.ranges[mid]!;
      if (seq < range.start) hi = mid - 1;
      else if (seq >= range.end) lo = mid + 1;
      else return true;
    }
    return false;
  }

  /** The live record of a user (materialized or virtual), or undefined when LINE does not know them. */
  private find(userId: string): FriendRecord | undefined {
    const seq = this.idToSeq.get(userId);
    if (seq !== undefined) return this.records.get(seq);
    const generated = this.decodeGenerated(userId);
    if (generated === undefined || !this.inGenerated(generated)) return undefined;
    const record = this.records.get(generated);
    if (record) return record.state === 'removed' ? undefined : record;
    return { seq: generated, userId, state: 'friend', profile: generatedProfile(generated) };
  }

  /** Stores a (possibly virtual) record so that it can change. */
  private materialize(record: FriendRecord): FriendRecord {
    this.records.set(record.seq, record);
    return record;
  }

  private count(state: FriendState | 'removed', delta: number): void {
    if (state === 'friend') this.friendCount += delta;
    else if (state === 'blocked') this.blockedCount += delta;
  }

  private view(record: FriendRecord): FriendView {
    return { userId: record.userId, state: record.state as FriendState, seq: record.seq, ...cleanProfile(record.profile) };
  }

  private requireUserId(userId: unknown): string {
    if (typeof userId !== 'string' || !LINE_USER_ID_PATTERN.test(userId)) {
      throw new SandboxInputError(`userId must be "U" followed by 32 lowercase hex digits, got ${JSON.stringify(userId)}`);
    }
    return userId;
  }

  // --- controls ---------------------------------------------------------------------------------

  /** Adds friends (or updates known users' profile and state), in order, without webhooks. */
  seedFriends(seeds: FriendSeed[]): FriendView[] {
    if (!Array.isArray(seeds)) throw new SandboxInputError('friends must be an array');
    const out: FriendView[] = [];
    for (const seed of seeds) {
      if (seed === null || typeof seed !== 'object') throw new SandboxInputError('each friend must be an object');
      const userId = seed.userId === undefined ? newLineUserId() : this.requireUserId(seed.userId);
      const state = seed.state ?? 'friend';
      if (state !== 'friend' && state !== 'blocked') throw new SandboxInputError('state must be "friend" or "blocked"');
      const existing = this.find(userId);
      if (existing) {
        const record = this.materialize({ ...existing, profile: applyProfileSeed(existing.profile, seed), state });
        this.count(existing.state, -1);
        this.count(state, +1);
        out.push(this.view(record));
        continue;
      }
      const record: FriendRecord = { seq: this.nextSeq++, userId, state, profile: applyProfileSeed(generatedProfile(userId), seed) };
      this.records.set(record.seq, record);
      this.idToSeq.set(userId, record.seq);
      this.count(state, +1);
      out.push(this.view(record));
    }
    return out;
  }

  /** Adds `count` generated friends (virtual: O(1) whatever the count). */
  seedGeneratedFriends(count: number): { added: number; firstUserId?: string; lastUserId?: string } & FriendCounts {
    if (!Number.isInteger(count) || count < 0 || count > 100_000_000) throw new SandboxInputError('count must be a whole number from 0 to 100000000');
    if (count === 0) return { added: 0, ...this.counts() };
    const range = { start: this.nextSeq, end: this.nextSeq + count };
    this.ranges.push(range);
    this.nextSeq = range.end;
    this.friendCount += count;
    const [firstUserId, lastUserId] = this.encodeGenerated([range.start, range.end - 1]);
    return { added: count, firstUserId: firstUserId!, lastUserId: lastUserId!, ...this.counts() };
  }

  /** The user ID the sandbox gave the n-th generated friend of all (1-based over every seed). */
  generatedUserIdAt(seq: number): string | undefined {
    return this.inGenerated(seq) ? this.encodeGenerated([seq])[0] : undefined;
  }

  /** Adds a friend, or unblocks one (LINE then sends `follow` with `isUnblocked: true`). */
  follow(userId: string, profile: Omit<FriendSeed, 'userId' | 'state'> = {}): FollowResult {
    this.requireUserId(userId);
    const existing = this.find(userId);
    if (!existing) {
      const [view] = this.seedFriends([{ ...profile, userId, state: 'friend' }]);
      return { userId, state: 'friend', previousState: 'unknown', profile: cleanProfile(view!) };
    }
    const previousState = existing.state as FriendState;
    const record = this.materialize({ ...existing, state: 'friend', profile: applyProfileSeed(existing.profile, profile) });
    this.count(previousState, -1);
    this.count('friend', +1);
    return { userId, state: 'friend', previousState, profile: cleanProfile(record.profile) };
  }

  /** The friend blocks the account. Undefined when LINE does not know the user. */
  block(userId: string): BlockResult | undefined {
    this.requireUserId(userId);
    const existing = this.find(userId);
    if (!existing) return undefined;
    const previousState = existing.state as FriendState;
    this.materialize({ ...existing, state: 'blocked' });
    this.count(previousState, -1);
    this.count('blocked', +1);
    return { userId, state: 'blocked', previousState };
  }

  /** Forgets a user entirely (as if they never met the account). */
  remove(userId: string): boolean {
    this.requireUserId(userId);
    const existing = this.find(userId);
    if (!existing) return false;
    this.count(existing.state, -1);
    if (this.idToSeq.get(userId) === existing.seq) {
      this.idToSeq.delete(userId);
      this.records.delete(existing.seq);
    } else {
      this.records.set(existing.seq, { ...existing, state: 'removed' }); // tombstone a generated friend
    }
    return true;
  }

  /** What the sandbox knows about a user (also blocked ones), or undefined. */
  getFriend(userId: string): FriendView | undefined {
    if (typeof userId !== 'string' || !LINE_USER_ID_PATTERN.test(userId)) return undefined;
    const record = this.find(userId);
    return record ? this.view(record) : undefined;
  }

  counts(): FriendCounts {
    return { friends: this.friendCount, blocked: this.blockedCount, total: this.friendCount + this.blockedCount };
  }

  /** All current followers' IDs in follower order (for tests; O(n)). */
  followerIds(): string[] {
    const ids: string[] = [];
    let position = 1;
    for (;;) {
      const page = this.followersPage(position, 10_000);
      ids.push(...page.userIds);
      if (page.nextPosition === undefined) return ids;
      position = page.nextPosition;
    }
  }

  settings(): LineSandboxSettings {
    return { ...this.settingsValue };
  }

  updateSettings(update: Partial<LineSandboxSettings>): LineSandboxSettings {
    if (update.followersIdsAllowed !== undefined) {
      if (typeof update.followersIdsAllowed !== 'boolean') throw new SandboxInputError('followersIdsAllowed must be true or false');
      this.settingsValue.followersIdsAllowed = update.followersIdsAllowed;
    }
    if (update.rateLimitPerSecond !== undefined) {
      const limit = update.rateLimitPerSecond;
      if (!Number.isInteger(limit) || limit < 0 || limit > 1_000_000) throw new SandboxInputError('rateLimitPerSecond must be a whole number from 0 (unlimited) to 1000000');
      this.settingsValue.rateLimitPerSecond = limit;
      this.limiter.setLimit(limit);
    }
    return this.settings();
  }

  setFollowersIdsAllowed(allowed: boolean): void {
    this.updateSettings({ followersIdsAllowed: allowed });
  }

  setRateLimit(perSecond: number): void {
    this.updateSettings({ rateLimitPerSecond: perSecond });
  }

  /** The next `count` calls (under `pathPrefix`, if given) answer `status` with LINE's error body. */
  injectFault(rule: { status: number; count?: number; pathPrefix?: string; body?: unknown; headers?: Record<string, string> }): void {
    const full: FaultRule = { ...rule, count: rule.count ?? 1 };
    if (full.body === undefined && full.pathPrefix?.startsWith('/oauth2/')) full.body = lineLoginErrorBody(full.status);
    try {
      this.faults.add(full);
    } catch (error) {
      throw new SandboxInputError((error as Error).message);
    }
  }

  /** A LINE Login ID token (a JWT signed HS256 with the sandbox login channel's secret). */
  seedIdToken(seed: IdTokenSeed): { idToken: string; payload: IdTokenPayload } {
    const userId = this.requireUserId(seed.userId);
    for (const key of ['email', 'name', 'picture', 'clientId', 'nonce'] as const) {
      if (seed[key] !== undefined && typeof seed[key] !== 'string') throw new SandboxInputError(`${key} must be a string`);
    }
    const expiresIn = seed.expiresInSeconds ?? 3600;
    if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn)) throw new SandboxInputError('expiresInSeconds must be a number');
    const known = this.find(userId);
    const profile = known?.profile ?? generatedProfile(userId);
    const iat = Math.floor(this.now() / 1000);
    const payload: IdTokenPayload = {
      iss: ID_TOKEN_ISSUER,
      sub: userId,
      aud: seed.clientId ?? this.loginChannelId,
      exp: iat + Math.trunc(expiresIn),
      iat,
      ...(seed.nonce !== undefined ? { nonce: seed.nonce } : {}),
      amr: seed.amr ?? ['linesso'],
      name: seed.name ?? profile.displayName,
      ...((seed.picture ?? profile.pictureUrl) !== undefined ? { picture: (seed.picture ?? profile.pictureUrl)! } : {}),
      ...(seed.email !== undefined ? { email: seed.email } : {}),
    };
    const signingInput = `${b64urlJson({ typ: 'JWT', alg: 'HS256' })}.${b64urlJson(payload)}`;
    const signature = createHmac('sha256', this.loginChannelSecret).update(signingInput).digest('base64url');
    return { idToken: `${signingInput}.${signature}`, payload };
  }

  /** LINE Login's checks of `POST /oauth2/v2.1/verify`, in LINE's words. */
  verifyIdToken(params: { id_token?: string; client_id?: string; nonce?: string; user_id?: string }): { ok: true; payload: IdTokenPayload } | { ok: false; description: string } {
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
    const expected = Buffer.from(createHmac('sha256', this.loginChannelSecret).update(`${headerPart}.${payloadPart}`).digest('base64url'));
    const given = Buffer.from(signaturePart);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return fail('Invalid IdToken.');
    if (payload.iss !== ID_TOKEN_ISSUER) return fail('Invalid IdToken Issuer.');
    if (typeof payload.exp !== 'number' || payload.exp * 1000 <= this.now()) return fail('IdToken expired.');
    if (payload.aud !== params.client_id) return fail('Invalid IdToken Audience.');
    if (params.nonce !== undefined && params.nonce !== '' && payload.nonce !== params.nonce) return fail('Invalid IdToken Nonce.');
    if (params.user_id !== undefined && params.user_id !== '' && payload.sub !== params.user_id) return fail('Invalid IdToken Subject.');
    return { ok: true, payload };
  }

  stats(): Record<string, EndpointStats> {
    const out: Record<string, EndpointStats> = {};
    for (const [key, value] of this.statsMap) out[key] = { requests: value.requests, statuses: { ...value.statuses } };
    return out;
  }

  /** Back to an empty account: no friends, no faults, no stats, initial settings; old tokens stop working. */
  reset(): void {
    this.records.clear();
    this.idToSeq.clear();
    this.ranges = [];
    this.nextSeq = 1;
    this.friendCount = 0;
    this.blockedCount = 0;
    this.epoch = (this.epoch + 1) >>> 0;
    this.faults.clear();
    this.statsMap.clear();
    this.settingsValue = { ...this.initialSettings };
    this.limiter.setLimit(this.settingsValue.rateLimitPerSecond);
  }

  // --- used by the routes -----------------------------------------------------------------------

  /** @internal */
  recordRequest(endpoint: string, status: number): void {
    let entry = this.statsMap.get(endpoint);
    if (!entry) {
      entry = { requests: 0, statuses: {} };
      this.statsMap.set(endpoint, entry);
    }
    entry.requests += 1;
    entry.statuses[String(status)] = (entry.statuses[String(status)] ?? 0) + 1;
  }

  /** @internal */
  tryRateLimit(endpoint: string): boolean {
    return this.limiter.tryAcquire(endpoint, performance.now());
  }

  /** @internal the profile LINE would answer: only for current friends */
  profileOf(userId: string): ({ userId: string } & LineProfile) | undefined {
    const record = this.find(userId);
    if (!record || record.state !== 'friend') return undefined;
    return { userId: record.userId, ...cleanProfile(record.profile) };
  }

  /** @internal up to `limit` follower IDs from `position` in follower order, O(limit + skipped). */
  followersPage(position: number, limit: number): { userIds: string[]; nextPosition?: number } {
    const found: Array<{ seq: number; userId?: string }> = [];
    let seq = Math.max(1, position);
    // one more than asked: tells whether anyone remains
    while (seq < this.nextSeq && found.length <= limit) {
      const record = this.records.get(seq);
      if (record) {
        if (record.state === 'friend') found.push({ seq, userId: record.userId });
      } else if (this.inGenerated(seq)) {
        found.push({ seq });
      }
      seq += 1;
    }
    const page = found.slice(0, limit);
    const generatedIds = this.encodeGenerated(page.filter((f) => f.userId === undefined).map((f) => f.seq));
    let g = 0;
    const userIds = page.map((f) => f.userId ?? generatedIds[g++]!);
    const more = found[limit];
    return more ? { userIds, nextPosition: more.seq } : { userIds };
  }

  /** @internal an opaque continuation token for a position */
  encodeContinuation(position: number): string {
    const payload = Buffer.alloc(12);
    payload.writeUInt32BE(this.epoch, 0);
    payload.writeBigUInt64BE(BigInt(position), 4);
    const tag = createHmac('sha256', this.tokenKey).update(payload).digest().subarray(0, 12);
    return Buffer.concat([payload, tag]).toString('base64url');
  }

  /** @internal the position of a continuation token, or undefined when it is not one of ours (or stale) */
  decodeContinuation(token: string): number | undefined {
    if (!/^[A-Za-z0-9_-]{32}$/.test(token)) return undefined;
    const raw = Buffer.from(token, 'base64url');
    if (raw.length !== 24) return undefined;
    const payload = raw.subarray(0, 12);
    const tag = createHmac('sha256', this.tokenKey).update(payload).digest().subarray(0, 12);
    if (!timingSafeEqual(tag, raw.subarray(12))) return undefined;
    if (payload.readUInt32BE(0) !== this.epoch) return undefined;
    const position = payload.readBigUInt64BE(4);
    return position <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(position) : undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP

const controlsByApp = new WeakMap<FastifyInstance, LineSandboxControls>();

/** The controls of an app made by `buildLineSandbox`. */
export function lineSandboxControls(app: FastifyInstance): LineSandboxControls {
  const controls = controlsByApp.get(app);
  if (!controls) throw new Error('not a sandbox LINE app');
  return controls;
}

function isControlPath(url: string): boolean {
  return url === '/_sandbox' || url.startsWith('/_sandbox/') || url.startsWith('/_sandbox?');
}

function endpointKey(request: FastifyRequest): string {
  return `${request.method} ${request.routeOptions.url ?? '(no route)'}`;
}

function bodyObject(request: FastifyRequest): Record<string, unknown> {
  const body = request.body;
  if (body === undefined || body === null || body === '') return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw new SandboxInputError('the body must be a JSON object');
  return body as Record<string, unknown>;
}

export function buildLineSandbox(options: LineSandboxOptions & { controls?: LineSandboxControls } = {}): FastifyInstance {
  const controls = options.controls ?? new LineSandboxControls(options);
  const app = Fastify({ logger: options.logger ?? false });
  controlsByApp.set(app, controls);

  // LINE Login takes form bodies
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  app.addHook('onRequest', async (request, reply) => {
    if (!isControlPath(request.url)) reply.header('x-line-request-id', randomUUID());
  });
  installFaults(app, controls.faults, lineErrorBody);
  app.addHook('onResponse', async (request, reply) => {
    if (!isControlPath(request.url)) controls.recordRequest(endpointKey(request), reply.statusCode);
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
    if (!controls.tryRateLimit(endpointKey(request))) {
      return reply.code(429).send({ message: LINE_ERROR_MESSAGES.rateLimited });
    }
  };

  app.get<{ Params: { userId: string } }>('/v2/bot/profile/:userId', { preHandler: authenticate }, async (request, reply) => {
    const { userId } = request.params;
    if (!LINE_USER_ID_PATTERN.test(userId)) return reply.code(400).send({ message: LINE_ERROR_MESSAGES.invalidUserId });
    const profile = controls.profileOf(userId);
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
      const decoded = typeof start === 'string' ? controls.decodeContinuation(start) : undefined;
      if (decoded === undefined) return reply.code(400).send({ message: LINE_ERROR_MESSAGES.invalidStart });
      position = decoded;
    }
    const page = controls.followersPage(position, limit);
    return page.nextPosition === undefined ? { userIds: page.userIds } : { userIds: page.userIds, next: controls.encodeContinuation(page.nextPosition) };
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
    const result = controls.verifyIdToken(params);
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
    return { pending: controls.faults.pending() };
  });
  app.get('/_sandbox/faults', async () => ({ pending: controls.faults.pending() }));
  app.delete('/_sandbox/faults', async () => {
    controls.faults.clear();
    return { pending: [] };
  });

  app.get('/_sandbox/stats', async () => controls.stats());

  app.post('/_sandbox/reset', async () => {
    controls.reset();
    return { reset: true, ...controls.counts() };
  });

  return app;
}

export interface StartedLineSandbox {
  /** origin, e.g. http://127.0.0.1:3101: use as LINE_API_BASE_URL */
  url: string;
  port: number;
  controls: LineSandboxControls;
  app: FastifyInstance;
  close(): Promise<void>;
}

/** Starts the sandbox LINE API. `port` 0 (the default) picks a free port. */
export async function startLineSandbox(options: LineSandboxOptions & { port?: number; host?: string } = {}): Promise<StartedLineSandbox> {
  const controls = new LineSandboxControls(options);
  const app = buildLineSandbox({ ...options, controls });
  const host = options.host ?? '127.0.0.1';
  await app.listen({ port: options.port ?? 0, host });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : (options.port ?? 0);
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    controls,
    app,
    close: () => app.close(),
  };
}
