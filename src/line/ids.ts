// LINE's ID formats, in one place: a user (`U`), group (`C`) or room (`R`) ID is the letter and 32
// lowercase hex digits. Pure (workflow code imports it through the contact rules).

export const LINE_USER_ID_PATTERN = /^U[0-9a-f]{32}$/;
export const LINE_GROUP_ID_PATTERN = /^C[0-9a-f]{32}$/;
export const LINE_ROOM_ID_PATTERN = /^R[0-9a-f]{32}$/;

/** A LINE user ID: `U` followed by 32 lowercase hex digits. */
export function isLineUserId(value: unknown): value is string {
  return typeof value === 'string' && LINE_USER_ID_PATTERN.test(value);
}
