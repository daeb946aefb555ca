// Friends' LINE profiles: generated ones (realistic, deterministic from a key: a friend's sequence
// number or user ID) and the checks of a seeded one.
import { createHash } from 'node:crypto';
import { SandboxInputError } from './errors.ts';

export interface LineProfile {
  displayName: string;
  pictureUrl?: string;
  statusMessage?: string;
  language?: string;
}

/** A profile as a test seeds it: unset fields keep their value, `null` removes one. */
export interface ProfileSeed {
  /** default: a generated Japanese-ish name */
  displayName?: string;
  /** default: a generated URL; `null`: no picture */
  pictureUrl?: string | null;
  /** default: sometimes one; `null`: none */
  statusMessage?: string | null;
  /** default: usually `ja`; `null`: none (user has not consented to LINE's privacy policy) */
  language?: string | null;
}

const FAMILY: Array<[string, string]> = [
  ['佐藤', 'Sato'],
  ['鈴木', 'Suzuki'],
  ['高橋', 'Takahashi'],
  ['田中', 'Tanaka'],
  ['伊藤', 'Ito'],
  ['渡辺', 'Watanabe'],
  ['山本', 'Yamamoto'],
  ['中村', 'Nakamura'],
  ['小林', 'Kobayashi'],
  ['加藤', 'Kato'],
  ['吉田', 'Yoshida'],
  ['山田', 'Yamada'],
  ['佐々木', 'Sasaki'],
  ['山口', 'Yamaguchi'],
  ['松本', 'Matsumoto'],
  ['井上', 'Inoue'],
  ['木村', 'Kimura'],
  ['林', 'Hayashi'],
  ['斎藤', 'Saito'],
  ['清水', 'Shimizu'],
];
const GIVEN: Array<[string, string, string]> = [
  ['陽翔', 'Haruto', 'はると'],
  ['蓮', 'Ren', 'れん'],
  ['湊', 'Minato', 'みなと'],
  ['大和', 'Yamato', 'やまと'],
  ['陽菜', 'Hina', 'ひな'],
  ['結菜', 'Yuna', 'ゆな'],
  ['葵', 'Aoi', 'あおい'],
  ['凛', 'Rin', 'りん'],
  ['咲良', 'Sakura', 'さくら'],
  ['芽依', 'Mei', 'めい'],
  ['翔太', 'Shota', 'しょうた'],
  ['健太', 'Kenta', 'けんた'],
  ['美咲', 'Misaki', 'みさき'],
  ['愛', 'Ai', 'あい'],
  ['大輝', 'Daiki', 'だいき'],
  ['拓海', 'Takumi', 'たくみ'],
  ['花子', 'Hanako', 'はなこ'],
  ['太郎', 'Taro', 'たろう'],
  ['由美', 'Yumi', 'ゆみ'],
  ['直樹', 'Naoki', 'なおき'],
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
    case 0:
    case 1:
    case 2:
    case 3:
      displayName = `${familyKanji} ${givenKanji}`;
      break;
    case 4:
    case 5:
    case 6:
      displayName = `${familyKanji}${givenKanji}`;
      break;
    case 7:
    case 8:
      displayName = givenKana;
      break;
    case 9:
      displayName = `${givenKana}${emoji}`;
      break;
    case 10:
    case 11:
      displayName = `${givenRomaji} ${familyRomaji}`;
      break;
    case 12:
      displayName = givenRomaji.toLowerCase();
      break;
    case 13:
      displayName = givenKanji;
      break;
    case 14:
      displayName = `${givenRomaji}.${familyRomaji.charAt(0)}`;
      break;
    default:
      displayName = `${emoji} ${givenKanji} ${emoji}`;
  }
  const profile: LineProfile = { displayName };
  if (h(4) % 10 !== 0)
    profile.pictureUrl = `https://profile.line-scdn.net/0h${digest.subarray(20, 32).toString('base64url')}${createHash('sha256').update(`pic:${key}`).digest('base64url').slice(0, 40)}`;
  if (h(5) % 4 === 0) profile.statusMessage = pick(STATUS_MESSAGES, h(6));
  if (h(6) % 12 !== 0) profile.language = pick(LANGUAGES, h(7));
  return profile;
}

export function cleanProfile(profile: LineProfile): LineProfile {
  const out: LineProfile = { displayName: profile.displayName };
  if (profile.pictureUrl !== undefined) out.pictureUrl = profile.pictureUrl;
  if (profile.statusMessage !== undefined) out.statusMessage = profile.statusMessage;
  if (profile.language !== undefined) out.language = profile.language;
  return out;
}

export function applyProfileSeed(base: LineProfile, seed: ProfileSeed): LineProfile {
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
