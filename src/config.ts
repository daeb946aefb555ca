// The one place that reads the environment: every variable of interfaces.md, validated.

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

export interface Config {
  port: number;
  host: string;
  logLevel: string;
  /** unset: `npm start` embeds a dev server; `npm run server|worker` require it */
  temporalAddress: string | undefined;
  temporalNamespace: string;
  taskQueue: string;
  temporalApiKey: string | undefined;
  temporalTls: boolean;
  temporalUiPort: number;
  /** gRPC port of the embedded dev server */
  temporalPort: number;
  temporalDbFile: string;
  lineChannelId: string;
  lineChannelSecret: string | undefined;
  lineChannelAccessToken: string | undefined;
  lineLoginChannelId: string | undefined;
  lineApiBaseUrl: string;
  hubspotAccessToken: string | undefined;
  hubspotBaseUrl: string;
  hubspotClientSecret: string | undefined;
  hubspotRequestsPer10s: number;
  /** search requests per second the server allows itself (GET /friends, the console): HubSpot's search limit is its own, about 5/s */
  hubspotSearchRequestsPerSecond: number;
  syncDateTimeZone: string;
  /** contact writers (inbox workflows) per channel; a friend always maps to the same one */
  lineInboxShards: number;
  /** a contact writer ends after this long without work (the next event starts it again) */
  lineInboxIdleSeconds: number;
  /**
   * bytes a search-attribute value may hold on the Temporal server (its dynamic config
   * `frontend.searchAttributesSizeOfValueLimit`): a batch lists its friends in LineUserId, so this
   * bounds the friends per batch (unset: 2,048, Temporal's default, 56 friends; `npm start`'s embedded
   * dev server allows 8,192: 100 friends)
   */
  temporalSearchAttributeValueLimit: number | undefined;
  adminToken: string | undefined;
  /** where the console links a friend's story (unset: `npm start` sets its embedded Web UI; else no link) */
  temporalUiUrl: string | undefined;
  publicUrl: string | undefined;
  /** Fastify trustProxy: true (X-Forwarded-* from any hop), false, a hop count, or trusted addresses */
  trustProxy: boolean | number | string;
  /** ports of the built-in sandbox APIs started by `npm start` without credentials (0: any free port) */
  sandboxLinePort: number;
  sandboxHubspotPort: number;
}

type Env = Record<string, string | undefined>;

function text(env: Env, name: string, fallback: string): string;
function text(env: Env, name: string): string | undefined;
function text(env: Env, name: string, fallback?: string): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  return raw.trim();
}

function secret(env: Env, name: string, minLength = 1): string | undefined {
  const value = text(env, name);
  if (value !== undefined && value.length < minLength) {
    throw new ConfigError(name, `is too short (at least ${minLength} characters expected; value not shown)`);
  }
  if (value !== undefined && /\s/.test(value)) {
    throw new ConfigError(name, 'contains white space (value not shown)');
  }
  return value;
}

function numeric(env: Env, name: string, fallback: number, min: number, max: number, { decimals = false } = {}): number {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  if (!(decimals ? /^\d+(\.\d+)?$/ : /^\d+$/).test(raw)) {
    throw new ConfigError(name, decimals ? `must be a number from ${min} to ${max} (e.g. 5 or 2.5), got "${raw}"` : `must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `must be from ${min} to ${max}, got ${value}`);
  return value;
}

/** Variables earlier releases read, and why they mean nothing now. */
const RETIRED: Record<string, string> = {
  LINE_HANDOVER_PER_SECOND: 'events are no longer handed to per-friend workflows: they are applied in batches, and HUBSPOT_REQUESTS_PER_10S alone paces HubSpot',
  FRIEND_IDLE_SECONDS: 'there are no per-friend workflows any more; LINE_INBOX_IDLE_SECONDS says when an idle contact writer ends',
};

/** One line per retired variable that is still set (the process says it once at start and goes on). */
export function retiredVariables(env: Env = process.env): string[] {
  return Object.entries(RETIRED)
    .filter(([name]) => text(env, name) !== undefined)
    .map(([name, why]) => `${name} is set but no longer used (${why}); remove it`);
}

function origin(env: Env, name: string, fallback: string): string {
  const raw = text(env, name, fallback);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, `must be an http(s) URL such as ${fallback}, got "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(name, `must use http or https, got "${url.protocol}"`);
  }
  return raw.replace(/\/+$/, '');
}

function timeZone(env: Env, name: string): string {
  const value = text(env, name, 'UTC');
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
  } catch {
    throw new ConfigError(name, `is not an IANA time zone (e.g. UTC, Asia/Tokyo), got "${value}"`);
  }
  return value;
}

function address(env: Env, name: string): string | undefined {
  const value = text(env, name);
  if (value !== undefined && !/^[A-Za-z0-9.\-_[\]:]+:\d{1,5}$/.test(value)) {
    throw new ConfigError(name, `must be host:port (e.g. 127.0.0.1:7233), got "${value}"`);
  }
  return value;
}

function keyword(env: Env, name: string, fallback: string): string {
  const value = text(env, name, fallback);
  if (!/^[A-Za-z0-9._\-]{1,100}$/.test(value)) {
    throw new ConfigError(name, `may hold only letters, digits, ".", "_" and "-" (1-100), got "${value}"`);
  }
  return value;
}

function bool(env: Env, name: string): boolean {
  const value = text(env, name);
  if (value === undefined) return false;
  if (/^(1|true|yes)$/i.test(value)) return true;
  if (/^(0|false|no)$/i.test(value)) return false;
  throw new ConfigError(name, `must be true or false, got "${value}"`);
}

function proxyTrust(env: Env, name: string): boolean | number | string {
  const value = text(env, name);
  if (value === undefined || /^(1|true|yes)$/i.test(value)) return true;
  if (/^(0|false|no)$/i.test(value)) return false;
  if (/^\d+$/.test(value)) return Number(value) === 0 ? false : Number(value);
  if (/^[0-9a-fA-F.:/, ]+$/.test(value)) return value;
  throw new ConfigError(name, `must be true, false, a hop count or addresses/CIDRs, got "${value}"`);
}

export function loadConfig(env: Env = process.env): Config {
  const hubspotRequestsPer10s = numeric(env, 'HUBSPOT_REQUESTS_PER_10S', 100, 1, 100_000);
  return {
    port: numeric(env, 'PORT', 3000, 0, 65535),
    host: text(env, 'HOST', '127.0.0.1'),
    logLevel: keyword(env, 'LOG_LEVEL', 'info'),
    temporalAddress: address(env, 'TEMPORAL_ADDRESS'),
    temporalNamespace: keyword(env, 'TEMPORAL_NAMESPACE', 'default'),
    taskQueue: keyword(env, 'TEMPORAL_TASK_QUEUE', 'line-hubspot-sync'),
    temporalApiKey: secret(env, 'TEMPORAL_API_KEY'),
    temporalTls: bool(env, 'TEMPORAL_TLS') || secret(env, 'TEMPORAL_API_KEY') !== undefined,
    temporalUiPort: numeric(env, 'TEMPORAL_UI_PORT', 8233, 1, 65535),
    temporalPort: numeric(env, 'TEMPORAL_PORT', 7233, 1, 65535),
    temporalDbFile: text(env, 'TEMPORAL_DB_FILE', '.data/temporal.sqlite'),
    lineChannelId: keyword(env, 'LINE_CHANNEL_ID', 'default'),
    lineChannelSecret: secret(env, 'LINE_CHANNEL_SECRET', 8),
    lineChannelAccessToken: secret(env, 'LINE_CHANNEL_ACCESS_TOKEN', 8),
    lineLoginChannelId: text(env, 'LINE_LOGIN_CHANNEL_ID'),
    lineApiBaseUrl: origin(env, 'LINE_API_BASE_URL', 'https://api.line.me'),
    hubspotAccessToken: secret(env, 'HUBSPOT_ACCESS_TOKEN', 8),
    hubspotBaseUrl: origin(env, 'HUBSPOT_BASE_URL', 'https://api.hubapi.com'),
    hubspotClientSecret: secret(env, 'HUBSPOT_CLIENT_SECRET', 8),
    hubspotRequestsPer10s,
    hubspotSearchRequestsPerSecond: numeric(env, 'HUBSPOT_SEARCH_REQUESTS_PER_SECOND', 4, 1, 100),
    syncDateTimeZone: timeZone(env, 'SYNC_DATE_TIME_ZONE'),
    lineInboxShards: numeric(env, 'LINE_INBOX_SHARDS', 1, 1, 64),
    lineInboxIdleSeconds: numeric(env, 'LINE_INBOX_IDLE_SECONDS', 900, 1, 7 * 24 * 3600),
    temporalSearchAttributeValueLimit: text(env, 'TEMPORAL_SEARCH_ATTRIBUTE_VALUE_LIMIT') === undefined ? undefined : numeric(env, 'TEMPORAL_SEARCH_ATTRIBUTE_VALUE_LIMIT', 2048, 1024, 1024 * 1024),
    adminToken: secret(env, 'ADMIN_TOKEN', 16),
    temporalUiUrl: text(env, 'TEMPORAL_UI_URL') === undefined ? undefined : origin(env, 'TEMPORAL_UI_URL', 'http://127.0.0.1:8233'),
    publicUrl: text(env, 'PUBLIC_URL') === undefined ? undefined : origin(env, 'PUBLIC_URL', 'https://example.com'),
    trustProxy: proxyTrust(env, 'TRUST_PROXY'),
    sandboxLinePort: numeric(env, 'SANDBOX_LINE_PORT', 3101, 0, 65535),
    sandboxHubspotPort: numeric(env, 'SANDBOX_HUBSPOT_PORT', 3102, 0, 65535),
  };
}

/** Where `npm run temporal:ensure`, `npm start` and the tests look for the Temporal CLI first (TEMPORAL_CLI_PATH), read alone: a tool must not fail on the service's other settings. */
export function temporalCliPathSetting(env: Env = process.env): string | undefined {
  return text(env, 'TEMPORAL_CLI_PATH');
}

/** The directories PATH lists (where executables are looked up). */
export function executableSearchPath(env: Env = process.env): string {
  return env.PATH ?? '';
}

/** The environment a build tool run as a child process (go install) inherits, with `extra` on top. */
export function childProcessEnvironment(extra: Record<string, string>, env: Env = process.env): Env {
  return { ...env, ...extra };
}

/** What `npm run line` (the sandbox LINE friend CLI) talks to. */
export interface LineFriendCliConfig {
  /** the service's base URL (SERVICE_URL, else http://127.0.0.1:PORT) */
  serviceUrl: string;
  /** the sandbox LINE API (LINE_API_BASE_URL, else http://127.0.0.1:SANDBOX_LINE_PORT) */
  lineApiBaseUrl: string;
  /** signs the webhooks it sends; unset: the sandbox channel's secret */
  lineChannelSecret: string | undefined;
}

export function loadLineFriendCliConfig(env: Env = process.env): LineFriendCliConfig {
  const port = numeric(env, 'PORT', 3000, 1, 65535);
  const sandboxLinePort = numeric(env, 'SANDBOX_LINE_PORT', 3101, 1, 65535);
  return {
    serviceUrl: origin(env, 'SERVICE_URL', `http://127.0.0.1:${port}`),
    lineApiBaseUrl: origin(env, 'LINE_API_BASE_URL', `http://127.0.0.1:${sandboxLinePort}`),
    lineChannelSecret: secret(env, 'LINE_CHANNEL_SECRET', 8),
  };
}

/** What a role needs beyond the defaults; a missing one stops the process with one line. */
export function requireFor(config: Config, role: 'server' | 'worker'): void {
  const need: Array<[keyof Config, string]> =
    role === 'server'
      ? [
          ['temporalAddress', 'TEMPORAL_ADDRESS'],
          ['lineChannelSecret', 'LINE_CHANNEL_SECRET'],
        ]
      : [
          ['temporalAddress', 'TEMPORAL_ADDRESS'],
          ['lineChannelAccessToken', 'LINE_CHANNEL_ACCESS_TOKEN'],
          ['hubspotAccessToken', 'HUBSPOT_ACCESS_TOKEN'],
        ];
  for (const [key, variable] of need) {
    if (config[key] === undefined) throw new ConfigError(variable, 'is required but not set');
  }
}

/** Runs a process entry: a ConfigError becomes one line on stderr and exit code 2. */
export function configOrExit(load: () => Config): Config {
  try {
    const config = load();
    for (const line of retiredVariables()) process.stderr.write(`configuration warning: ${line}\n`);
    return config;
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`configuration error: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
}
