import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Search attributes that let an operator find every batch that wrote a friend's contact, or a channel's import. */
export const LineChannelId = defineSearchAttributeKey('LineChannelId', SearchAttributeType.KEYWORD);
/** The friends of a batch (a list: `LineUserId = "U…"` finds every batch that held the friend). */
export const LineUserId = defineSearchAttributeKey('LineUserId', SearchAttributeType.KEYWORD_LIST);
export const SyncKind = defineSearchAttributeKey('LineSyncKind', SearchAttributeType.KEYWORD);
/** An import's ID (its first run's ID) on every run of its continue-as-new chain: finds it after newer imports. */
export const LineImportId = defineSearchAttributeKey('LineImportId', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTES = [LineChannelId, LineUserId, SyncKind, LineImportId] as const;

/** The CLI's names of the types (`temporal server start-dev --search-attribute Name=Type`). */
export const CLI_TYPE_NAME: Record<string, string> = { KEYWORD: 'Keyword', KEYWORD_LIST: 'KeywordList' };

/**
 * A batch lists up to 100 LINE user IDs (3.5 KB) in LineUserId: more than the 2 KB a search attribute
 * value may hold by default (`frontend.searchAttributesSizeOfValueLimit`). The dev server gets this; a cluster
 * needs the same dynamic config (README).
 */
export const SEARCH_ATTRIBUTE_VALUE_LIMIT = 8192;
