// The LINE Official Account's friends as the sandbox keeps them: seeded and generated (virtual)
// friends, their states, and the follower order the follower-IDs API pages through.
//
// Friends seeded by count are virtual: their user IDs and profiles are computed from their sequence
// number (a user ID is an AES block of the number, so it can be decoded back), so a million friends
// cost a few bytes, and a follower page costs O(page). Follower order is the friends' insertion
// order; a continuation token is a position in it, so friends blocking between pages neither skip
// nor repeat anybody else.
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { LINE_USER_ID_PATTERN } from '../../line/ids.ts';
import { newLineUserId } from '../line-webhook.ts';
import { SandboxInputError } from './errors.ts';
import { applyProfileSeed, cleanProfile, generatedProfile, type LineProfile, type ProfileSeed } from './profiles.ts';

export type FriendState = 'friend' | 'blocked';

export interface FriendSeed extends ProfileSeed {
  /** default: a fresh `U` + 32 hex */
  userId?: string;
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

/** A user ID as LINE gives them, or a SandboxInputError. */
export function requireUserId(userId: unknown): string {
  if (typeof userId !== 'string' || !LINE_USER_ID_PATTERN.test(userId)) {
    throw new SandboxInputError(`userId must be "U" followed by 32 lowercase hex digits, got ${JSON.stringify(userId)}`);
  }
  return userId;
}

/** The account's friends: who they are, their state and profile, and the follower order. */
export class LineAccount {
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

  constructor() {
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

  // --- friends ----------------------------------------------------------------------------------

  /** Adds friends (or updates known users' profile and state), in order, without webhooks. */
  seedFriends(seeds: FriendSeed[]): FriendView[] {
    if (!Array.isArray(seeds)) throw new SandboxInputError('friends must be an array');
    const out: FriendView[] = [];
    for (const seed of seeds) {
      if (seed === null || typeof seed !== 'object') throw new SandboxInputError('each friend must be an object');
      const userId = seed.userId === undefined ? newLineUserId() : requireUserId(seed.userId);
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
  follow(userId: string, profile: ProfileSeed = {}): FollowResult {
    requireUserId(userId);
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
    requireUserId(userId);
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
    requireUserId(userId);
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

  /** Back to no friends; continuation tokens given so far stop working. */
  reset(): void {
    this.records.clear();
    this.idToSeq.clear();
    this.ranges = [];
    this.nextSeq = 1;
    this.friendCount = 0;
    this.blockedCount = 0;
    this.epoch = (this.epoch + 1) >>> 0;
  }

  /** The profile a user has or would have (an ID token's default name and picture). */
  profileFor(userId: string): LineProfile {
    return this.find(userId)?.profile ?? generatedProfile(userId);
  }

  /** the profile LINE would answer: only for current friends */
  profileOf(userId: string): ({ userId: string } & LineProfile) | undefined {
    const record = this.find(userId);
    if (!record || record.state !== 'friend') return undefined;
    return { userId: record.userId, ...cleanProfile(record.profile) };
  }

  /** up to `limit` follower IDs from `position` in follower order, O(limit + skipped). */
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

  /** an opaque continuation token for a position */
  encodeContinuation(position: number): string {
    const payload = Buffer.alloc(12);
    payload.writeUInt32BE(this.epoch, 0);
    payload.writeBigUInt64BE(BigInt(position), 4);
    const tag = createHmac('sha256', this.tokenKey).update(payload).digest().subarray(0, 12);
    return Buffer.concat([payload, tag]).toString('base64url');
  }

  /** the position of a continuation token, or undefined when it is not one of ours (or stale) */
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
