import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Search attributes that let an operator find a friend's workflow or a channel's import. */
export const LineChannelId = defineSearchAttributeKey('LineChannelId', SearchAttributeType.KEYWORD);
export const LineUserId = defineSearchAttributeKey('LineUserId', SearchAttributeType.KEYWORD);
export const SyncKind = defineSearchAttributeKey('LineSyncKind', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTES = [LineChannelId, LineUserId, SyncKind] as const;
