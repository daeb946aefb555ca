// `npm run line -- <action> [userId] [options]`: makes a friend of the sandbox LINE account act.
// It (1) changes the friend in the sandbox LINE API (so that the service reads what LINE would say),
// then (2) sends the service the webhook LINE would send, correctly signed.
import { parseArgs } from 'node:util';
// (the constants come from line-webhook.ts, not line.ts: no Fastify to load)
import {
  SANDBOX_LINE_BOT_USER_ID,
  SANDBOX_LINE_CHANNEL_SECRET,
  asRedelivery,
  followEvent,
  groupSource,
  roomSource,
  sendLineWebhook,
  textMessageEvent,
  unfollowEvent,
  userSource,
  newLineUserId,
} from '../sandbox/line-webhook.ts';
import { ConfigError, loadLineFriendCliConfig } from '../config.ts';
import { LINE_GROUP_ID_PATTERN, LINE_ROOM_ID_PATTERN, LINE_USER_ID_PATTERN } from '../line/ids.ts';
import type { WebhookEvent } from '../line/webhook-events.ts';

const USAGE = `usage: npm run line -- <action> [userId] [options]

actions:
  follow [userId]        a new friend adds the account (an unblock if the user had blocked it)
  unfollow [userId]      the friend blocks the account
  unblock [userId]       a friend who had blocked the account unblocks it (follow, isUnblocked: true)
  message [userId]       the user sends a text message (1:1, or in a group/room with --group/--room)
  import-seed <N>        adds N friends to the sandbox LINE account without webhooks (try an import)

options:
  --name "Taro"          display name (default: a generated one)
  --picture URL          profile picture URL (default: a generated one)
  --text "hi"            message text (default: こんにちは)
  --group Cxxx           send the message in this group (C + 32 hex)
  --room Rxxx            send the message in this multi-person chat (R + 32 hex)
  --redeliver            then send the same event again as LINE's redelivery (same webhookEventId)
  --standby              the channel is in standby mode (no reply token)
  -h, --help

Without a userId a fresh one is generated (U + 32 lowercase hex).
Environment: SERVICE_URL (default http://127.0.0.1:$PORT, PORT=3000), LINE_API_BASE_URL (default
http://127.0.0.1:$SANDBOX_LINE_PORT, 3101), LINE_CHANNEL_SECRET (default: the sandbox's).
`;

class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

function pathOf(url: string): string {
  return new URL(url).pathname;
}

interface FriendView {
  userId: string;
  state: 'friend' | 'blocked';
  displayName: string;
  pictureUrl?: string;
}

class SandboxLine {
  constructor(readonly baseUrl: string) {}

  async call<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
    } catch {
      throw new CliError(`cannot reach the sandbox LINE API at ${this.baseUrl}: is \`npm start\` running (without LINE credentials)?`);
    }
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON
    }
    if (
      response.status === 404 &&
      path.startsWith('/_sandbox/') &&
      !(typeof parsed === 'object' && parsed !== null && 'message' in parsed && String((parsed as { message: unknown }).message).startsWith('LINE does not know'))
    ) {
      throw new CliError(
        `${this.baseUrl} is not a sandbox LINE API (no ${pathOf(`${this.baseUrl}${path}`)}): this command works only with the sandbox started by \`npm start\` without LINE credentials`,
      );
    }
    if (response.status >= 400 && response.status !== 404) {
      const message = typeof parsed === 'object' && parsed !== null && 'message' in parsed ? String((parsed as { message: unknown }).message) : text;
      throw new CliError(`the sandbox LINE API answered ${response.status} to ${method} ${path}: ${message}`);
    }
    return { status: response.status, body: parsed as T };
  }

  private notSandbox(): CliError {
    return new CliError(`${this.baseUrl} does not answer like the sandbox LINE API: this command works only with the sandbox started by \`npm start\` without LINE credentials`);
  }

  async friend(userId: string): Promise<FriendView | undefined> {
    const { status, body } = await this.call<FriendView>('GET', `/_sandbox/friends/${userId}`);
    if (status === 404) return undefined;
    if (typeof body !== 'object' || body === null || body.userId !== userId || (body.state !== 'friend' && body.state !== 'blocked')) throw this.notSandbox();
    return body;
  }

  async follow(userId: string, profile: { displayName?: string; pictureUrl?: string }): Promise<{ previousState: string; profile: { displayName: string } }> {
    const { body } = await this.call<{ previousState: string; profile: { displayName: string } }>('POST', `/_sandbox/friends/${userId}/follow`, profile);
    if (typeof body !== 'object' || body === null || typeof body.profile?.displayName !== 'string') throw this.notSandbox();
    return body;
  }

  async block(userId: string): Promise<void> {
    await this.call('POST', `/_sandbox/friends/${userId}/block`, {});
  }

  async seedCount(count: number): Promise<{ added: number; friends: number; blocked: number; firstUserId?: string; lastUserId?: string }> {
    return (await this.call<{ added: number; friends: number; blocked: number; firstUserId?: string; lastUserId?: string }>('POST', '/_sandbox/friends', { count })).body;
  }
}

const say = (line: string) => process.stdout.write(`${line}\n`);

async function deliver(serviceUrl: string, channelSecret: string, event: WebhookEvent, redeliver: boolean): Promise<void> {
  const url = `${serviceUrl}/webhooks/line`;
  const sends: Array<[string, WebhookEvent]> = [['webhook', event]];
  if (redeliver) sends.push(['redelivery', asRedelivery(event)]);
  let failed = false;
  for (const [label, ev] of sends) {
    let result;
    try {
      result = await sendLineWebhook({ url, channelSecret, events: [ev], destination: SANDBOX_LINE_BOT_USER_ID });
    } catch {
      throw new CliError(`cannot reach the service at ${serviceUrl}: is \`npm start\` running?`);
    }
    const ok = result.status >= 200 && result.status < 300;
    say(
      `${label}: ${ev.type} event ${ev.webhookEventId}${ev.deliveryContext.isRedelivery ? ' (isRedelivery: true)' : ''} → POST ${url} → ${result.status}${ok ? '' : ` ${result.text.slice(0, 300)}`}`,
    );
    if (result.status === 401) say('  the service rejected the signature: LINE_CHANNEL_SECRET here must be the secret the service uses');
    if (!ok) failed = true;
  }
  if (failed) throw new CliError('the service did not accept the webhook');
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        name: { type: 'string' },
        picture: { type: 'string' },
        text: { type: 'string' },
        group: { type: 'string' },
        room: { type: 'string' },
        redeliver: { type: 'boolean', default: false },
        standby: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    throw new CliError(`${(error as Error).message}\n\n${USAGE}`, 2);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    say(USAGE);
    return;
  }
  const [action, target, ...extra] = positionals;
  if (action === undefined) throw new CliError(USAGE, 2);
  if (extra.length > 0) throw new CliError(`unexpected arguments: ${extra.join(' ')}\n\n${USAGE}`, 2);

  let settings;
  try {
    settings = loadLineFriendCliConfig();
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message, 2);
    throw error;
  }
  const serviceUrl = settings.serviceUrl;
  const lineUrl = settings.lineApiBaseUrl;
  const channelSecret = settings.lineChannelSecret ?? SANDBOX_LINE_CHANNEL_SECRET;
  const line = new SandboxLine(lineUrl);
  const mode = values.standby ? ('standby' as const) : ('active' as const);

  if (action === 'import-seed') {
    const count = Number(target);
    if (target === undefined || !/^\d+$/.test(target) || count < 1 || count > 100_000_000)
      throw new CliError('import-seed needs a number of friends from 1 to 100000000, e.g. `npm run line -- import-seed 1000`', 2);
    const result = await line.seedCount(count);
    say(`import-seed: added ${result.added} friends to the sandbox LINE account (no webhooks sent)`);
    say(`  the account now has ${result.friends} friends and ${result.blocked} blocked users`);
    if (result.firstUserId) say(`  first: ${result.firstUserId}  last: ${result.lastUserId}`);
    say('  import them: npm run import -- --wait');
    return;
  }

  if (!['follow', 'unfollow', 'unblock', 'message'].includes(action)) throw new CliError(`unknown action "${action}"\n\n${USAGE}`, 2);
  if (target !== undefined && !LINE_USER_ID_PATTERN.test(target)) throw new CliError(`"${target}" is not a LINE user ID (U followed by 32 lowercase hex digits)`, 2);
  if ((values.group !== undefined || values.room !== undefined) && action !== 'message') throw new CliError(`--group and --room apply to message only: LINE sends ${action} events from 1:1 chats`, 2);
  if (values.group !== undefined && values.room !== undefined) throw new CliError('use --group or --room, not both', 2);
  if (values.group !== undefined && !LINE_GROUP_ID_PATTERN.test(values.group)) throw new CliError(`--group "${values.group}" is not a group ID (C followed by 32 lowercase hex digits)`, 2);
  if (values.room !== undefined && !LINE_ROOM_ID_PATTERN.test(values.room)) throw new CliError(`--room "${values.room}" is not a room ID (R followed by 32 lowercase hex digits)`, 2);
  if (values.picture !== undefined && !/^https?:\/\/\S+$/.test(values.picture)) throw new CliError(`--picture must be an http(s) URL, got "${values.picture}"`, 2);
  if (values.name !== undefined && values.name.trim() === '') throw new CliError('--name must not be empty', 2);

  const userId = target ?? newLineUserId();
  const profile = {
    ...(values.name !== undefined ? { displayName: values.name } : {}),
    ...(values.picture !== undefined ? { pictureUrl: values.picture } : {}),
  };
  const before = await line.friend(userId);
  let event: WebhookEvent;

  switch (action) {
    case 'follow': {
      if (before?.state === 'friend') throw new CliError(`${userId} is already a friend of the sandbox account; LINE sends no follow event then (try \`unfollow\` first, or a new user)`);
      const result = await line.follow(userId, profile);
      const isUnblocked = result.previousState === 'blocked';
      say(
        isUnblocked
          ? `follow: ${userId} ("${result.profile.displayName}") had blocked the account and unblocked it, so LINE sends follow with isUnblocked: true`
          : `follow: ${userId} ("${result.profile.displayName}") added the sandbox account as a friend`,
      );
      event = followEvent(userId, { isUnblocked, mode });
      break;
    }
    case 'unblock': {
      if (before?.state === 'friend') throw new CliError(`${userId} is a friend and has not blocked the account: nothing to unblock`);
      if (!before) {
        await line.follow(userId, profile);
        await line.block(userId);
        say(`unblock: ${userId} was unknown to the sandbox: seeded as a user who had blocked the account`);
      }
      const result = await line.follow(userId, profile);
      say(`unblock: ${userId} ("${result.profile.displayName}") unblocked the sandbox account`);
      event = followEvent(userId, { isUnblocked: true, mode });
      break;
    }
    case 'unfollow': {
      if (before?.state === 'blocked') throw new CliError(`${userId} has already blocked the sandbox account`);
      if (!before) {
        const seeded = await line.follow(userId, profile);
        say(`unfollow: ${userId} was unknown to the sandbox: seeded as a friend ("${seeded.profile.displayName}") first`);
      }
      await line.block(userId);
      say(`unfollow: ${userId} blocked the sandbox account (its profile can no longer be read)`);
      event = unfollowEvent(userId, { mode });
      break;
    }
    default: {
      const text = values.text ?? 'こんにちは';
      if (values.group !== undefined || values.room !== undefined) {
        const source = values.group !== undefined ? groupSource(values.group, userId) : roomSource(values.room!, userId);
        say(`message: ${userId} wrote "${text}" in ${source.type} ${values.group ?? values.room}`);
        event = textMessageEvent(source, text, { mode });
        break;
      }
      if (before?.state === 'blocked') throw new CliError(`${userId} has blocked the sandbox account and cannot message it (\`unblock\` first)`);
      if (!before) {
        const seeded = await line.follow(userId, profile);
        say(`message: ${userId} was unknown to the sandbox: seeded as an existing friend ("${seeded.profile.displayName}") without a follow event`);
      } else if (Object.keys(profile).length > 0) {
        await line.follow(userId, profile);
      }
      say(`message: ${userId} wrote "${text}"`);
      event = textMessageEvent(userSource(userId), text, { mode });
    }
  }

  try {
    await deliver(serviceUrl, channelSecret, event, values.redeliver);
  } finally {
    say(`userId: ${userId}`);
  }
}

main().catch((error: unknown) => {
  if (error instanceof CliError) {
    process.stderr.write(`${error.message.trimEnd()}\n`);
    process.exitCode = error.exitCode;
    return;
  }
  process.stderr.write(`line: ${(error as Error).message}\n`);
  process.exitCode = 1;
});
