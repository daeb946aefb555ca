// What the server, the workflows and the activities share: event and batch types, signals,
// queries and failure types. Pure definitions (no I/O): imported by workflow code and by clients.
import { defineQuery, defineSignal } from '@temporalio/workflow';

/** A friend event as producers hand it over: what happened, when, and the key that makes redeliveries harmless. */
export interface FriendEvent {
  /** webhookEventId (LINE), `line-login:<sub>:<iat>` (ID token), `hubspot:<objectId>:<eventId>` */
  eventId: string;
  /** `verified-email`: LINE verified the friend's ID token; `hubspot`: the contact got a line_user_id in HubSpot */
  kind: 'follow' | 'unfollow' | 'message' | 'verified-email' | 'hubspot';
  unblocked?: boolean;
  /** `verified-email` only: the e-mail LINE returned for the token (never one a client sent) */
  email?: string;
  /** `message` only: what `line_last_message` shows (the text, or `[sticker]`, `[image]` …); user content, never logged */
  message?: string;
  /** the event's timestamp (ms): its observation time (for `verified-email` and `hubspot`, the profile read is) */
  timestamp: number;
  redelivery?: boolean;
}

/** One friend event on its way to the channel's contact writer. */
export interface InboxItem {
  userId: string;
  event: FriendEvent;
}

/** Where and how a channel's contacts are written: the sender's current settings, so a change applies at once. */
export interface ContactTarget {
  channelId: string;
  /** the workers' task queue (HubSpot activities use `<this>-hubspot`) */
  taskQueue: string;
  /** IANA time zone of line_id_sync_date */
  timeZone: string;
  /** how long a writer waits for more work before it ends (LINE_INBOX_IDLE_SECONDS) */
  idleMs?: number;
  /** friends per batch at most: as many as the LineUserId search attribute can list (batchFriendsFor) */
  maxBatchFriends?: number;
}

/** HubSpot's batch limit. */
export const HUBSPOT_BATCH_LIMIT = 100;
/** Friends a batch can list in LineUserId within a search-attribute value of `limitBytes` (a JSON list: 36 bytes per ID). */
export const batchFriendsFor = (limitBytes: number): number => Math.max(1, Math.min(HUBSPOT_BATCH_LIMIT, Math.floor((limitBytes - 2) / 36)));
/** A writer that was never told: what Temporal's default 2 KB allows. */
export const DEFAULT_BATCH_FRIENDS = batchFriendsFor(2048);

/** One producer signal: events for the writer (webhooks, LINE Login, HubSpot webhooks). */
export interface InboxBatch {
  target: ContactTarget;
  items: InboxItem[];
}

/** Friends of one follower page for one writer shard: an import's rows, observed when the page was read. */
export interface ImportRows {
  importId: string;
  /** the import's workflow ID, to report back to */
  importWorkflowId: string;
  /** 1-based page number */
  page: number;
  /** observation time of every row: when LINE listed the page */
  readAt: number;
  userIds: string[];
}

/** What became of one friend's import row. */
export type ImportRowOutcome = 'created' | 'updated' | 'unchanged' | 'skipped' | 'failed';

/** A writer shard's report to the import: the rows of one page it applied. */
export interface ImportRowsApplied {
  importId: string;
  page: number;
  shard: number;
  counts: Record<ImportRowOutcome, number>;
  failures: Array<{ userId: string; reason: string }>;
}

/** Producers → the channel's contact writer (workflows/inbox.ts). */
export const inboxEventsSignal = defineSignal<[InboxBatch]>('inboxEvents');
/** The import → a writer shard: rows of a page to apply after live events. */
export const importRowsSignal = defineSignal<[ImportRows]>('importRows');
/** The import was cancelled: a writer shard drops its rows not yet applied. */
export const importCancelledSignal = defineSignal<[{ importId: string }]>('importCancelled');
/** A writer shard → the import: a page's rows are applied. */
export const importRowsAppliedSignal = defineSignal<[ImportRowsApplied]>('importRowsApplied');

/** The last events applied to one friend, as the writer remembers them. */
export interface AppliedEvent {
  eventId: string;
  kind: FriendEvent['kind'] | 'import';
  timestamp: number;
  /** what was decided and written, e.g. `create FOLLOW contact` */
  outcome: string;
  /** the batch workflow that applied it (its history has every read, write and retry) */
  batchWorkflowId: string;
}

export interface FriendStatus {
  userId: string;
  /** events received, not yet applied (in a batch or waiting) */
  pending: number;
  /** events applied since the writer first saw this friend (as far as it remembers) */
  applied: number;
  failed: number;
  recent: AppliedEvent[];
}

export interface InboxState {
  channelId: string;
  shard: number;
  /** live events waiting or being applied */
  backlog: number;
  /** import rows waiting or being applied */
  importBacklog: number;
  batchesInFlight: number;
  received: number;
  applied: number;
  failed: number;
  duplicatesIgnored: number;
  batches: number;
  /** the last failures, with why */
  recentFailures: Array<{ userId: string; eventId: string; reason: string }>;
}

/** What became of one friend in a batch. */
export interface FriendOutcome {
  userId: string;
  /** each event's outcome, in the order applied */
  events: Array<Omit<AppliedEvent, 'batchWorkflowId'>>;
  /** each import row's outcome */
  imports: Array<{ importId: string; importWorkflowId: string; page: number; readAt: number; outcome: ImportRowOutcome; reason?: string }>;
  /** why nothing could be written (a HubSpot or LINE refusal) */
  failure?: string;
}

export interface ContactBatchResult {
  friends: FriendOutcome[];
}

/**
 * A batch → its writer, by workflow ID (so it reaches the writer's current run even after the writer
 * continued as new while the batch ran, e.g. through a HubSpot outage).
 */
export const batchDoneSignal = defineSignal<[{ batchId: string; result: ContactBatchResult }]>('batchDone');

export const inboxStateQuery = defineQuery<InboxState>('inboxState');
export const friendStatusQuery = defineQuery<FriendStatus | null, [string]>('friendStatus');

/** Failure types of the activities: workflows test them by constant, never by a string of their own. */
export const FailureType = {
  HubspotRateLimited: 'HubspotRateLimited',
  HubspotDailyLimit: 'HubspotDailyLimit',
  HubspotUnavailable: 'HubspotUnavailable',
  HubspotRejected: 'HubspotRejected',
  HubspotConflict: 'HubspotConflict',
  HubspotNotFound: 'HubspotNotFound',
  LineRateLimited: 'LineRateLimited',
  LineUnavailable: 'LineUnavailable',
  LineRejected: 'LineRejected',
  LineAccountNotAllowed: 'LineAccountNotAllowed',
  Network: 'NetworkError',
  InvalidArgument: 'InvalidArgument',
  VerifiedEmailUnsettled: 'VerifiedEmailUnsettled',
  ImportFailed: 'ImportFailed',
  WriterClosing: 'WriterClosing',
} as const;
export type FailureTypeName = (typeof FailureType)[keyof typeof FailureType];

/** Workflow type names, for clients that must not import workflow code. */
export const WorkflowType = { inbox: 'inboxWorkflow', inboxDetour: 'inboxDetourWorkflow', contactBatch: 'contactBatchWorkflow', import: 'importWorkflow' } as const;
