import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Search attributes that let an operator find a friend's workflow or a channel's import. */
export const LineChannelId = defineSearchAttributeKey('LineChannelId', SearchAttributeType.KEYWORD);
export const LineUserId = defineSearchAttributeKey('LineUserId', SearchAttributeType.KEYWORD);
export const SyncKind = defineSearchAttributeKey('LineSyncKind', SearchAttributeType.KEYWORD);
/** An import's ID (its first run's ID) on every run of its continue-as-new chain: finds it after newer imports. */
export const LineImportId = defineSearchAttributeKey('LineImportId', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTES = [LineChannelId, LineUserId, SyncKind, LineImportId] as const;
