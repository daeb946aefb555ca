// `npm start`: everything on one machine — Temporal dev server (Web UI, SQLite), sandbox LINE and
// HubSpot APIs when no credentials are set, the worker and the HTTP server. Ctrl-C stops it all.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { Runtime } from '@temporalio/worker';
import { configOrExit, loadConfig, type Config } from '../config.ts';
import { startHubspotSandbox, SANDBOX_HUBSPOT_ACCESS_TOKEN } from '../sandbox/hubspot.ts';
import { SANDBOX_HUBSPOT_CLIENT_SECRET } from '../sandbox/hubspot-webhooks.ts';
import { SANDBOX_LINE_CHANNEL_ACCESS_TOKEN, SANDBOX_LINE_CHANNEL_SECRET, SANDBOX_LINE_LOGIN_CHANNEL_ID, startLineSandbox } from '../sandbox/line.ts';
import { SdkLogger } from '../temporal/sdk-logger.ts';
import { onShutdown, startServer, startWorker } from '../service.ts';
import { ensureTemporalCli, PROJECT_ROOT } from '../temporal/cli.ts';
import { startDevServer, startDownloadedDevServer } from '../temporal/dev-server.ts';
import { SEARCH_ATTRIBUTE_VALUE_LIMIT } from '../temporal/search-attributes.ts';

const log = (line: string) => process.stderr.write(`[start] ${line}\n`);
const base = configOrExit(() => loadConfig());
// The SDK's own lines only at LOG_LEVEL=debug: they drown what a newcomer needs to see.
Runtime.install({ logger: new SdkLogger(base.logLevel) });
const stops: Array<() => Promise<void>> = [];
const stopAll = async () => {
  for (const stop of stops.reverse()) await stop().catch((error: unknown) => log(`stop failed: ${(error as Error).message}`));
};
onShutdown(stopAll, log);

try {
  const config: Config = { ...base };
  const lines: string[] = [];

  if (!config.temporalAddress) {
    const cli = await ensureTemporalCli(log);
    const dbFile = resolve(PROJECT_ROOT, config.temporalDbFile);
    const serverOptions = { port: config.temporalPort, uiPort: config.temporalUiPort, dbFile };
    if (!cli) log('no Temporal CLI found or installable here: letting the Temporal SDK download the dev server…');
    const server = cli ? await startDevServer({ cliPath: cli.path, ...serverOptions }) : await startDownloadedDevServer(serverOptions);
    stops.push(() => server.stop());
    config.temporalAddress = server.address;
    // The embedded server allows what a batch of 100 friends needs in LineUserId (src/temporal/dev-server.ts).
    config.temporalSearchAttributeValueLimit ??= SEARCH_ATTRIBUTE_VALUE_LIMIT;
    lines.push(`Temporal dev server  ${server.address} (data: ${dbFile})`, `Temporal Web UI      ${server.uiUrl}`);
    config.temporalUiUrl ??= server.uiUrl;
  } else {
    lines.push(`Temporal             ${config.temporalAddress} (namespace ${config.temporalNamespace})`);
  }

  if (!config.lineChannelAccessToken || !config.lineChannelSecret) {
    const line = await startLineSandbox({ port: config.sandboxLinePort, host: config.host });
    stops.push(() => line.close());
    config.lineChannelAccessToken = SANDBOX_LINE_CHANNEL_ACCESS_TOKEN;
    config.lineChannelSecret = SANDBOX_LINE_CHANNEL_SECRET;
    config.lineApiBaseUrl = line.url;
    // The sandbox issues LINE Login ID tokens for its own login channel (POST /_sandbox/id-tokens).
    config.lineLoginChannelId = SANDBOX_LINE_LOGIN_CHANNEL_ID;
    lines.push(`sandbox LINE API     ${line.url} (no LINE credentials set; ID tokens: POST ${line.url}/_sandbox/id-tokens)`);
  }
  if (!config.hubspotAccessToken) {
    const hubspot = await startHubspotSandbox({ port: config.sandboxHubspotPort, host: config.host, requestsPer10s: config.hubspotRequestsPer10s });
    stops.push(() => hubspot.close());
    config.hubspotAccessToken = SANDBOX_HUBSPOT_ACCESS_TOKEN;
    config.hubspotBaseUrl = hubspot.url;
    // Sandbox webhooks (src/sandbox/hubspot-webhooks.ts) are signed with the sandbox app's secret.
    config.hubspotClientSecret ??= SANDBOX_HUBSPOT_CLIENT_SECRET;
    lines.push(`sandbox HubSpot API  ${hubspot.url} (no HubSpot token set; contacts: ${hubspot.url}/_sandbox/contacts)`);
  }

  // The operator console needs an admin token: without ADMIN_TOKEN, one is made for this machine and
  // kept in .data/admin-token (never printed: the banner says where it is).
  let tokenFile: string | undefined;
  if (!config.adminToken) {
    tokenFile = resolve(PROJECT_ROOT, '.data/admin-token');
    config.adminToken = localAdminToken(tokenFile);
  }

  const worker = await startWorker(config, { log });
  stops.push(() => worker.stop());
  worker.done.catch((error: unknown) => {
    log(`worker failed: ${(error as Error).message}`);
    void stopAll().then(() => process.exit(1));
  });
  const server = await startServer(config);
  stops.push(() => server.stop());

  lines.unshift(`HTTP server          ${server.url}  (LINE webhook: POST ${server.url}/webhooks/line)`);
  lines.splice(1, 0, `operator console     ${server.url}/console  (${tokenFile ? `admin token: in ${relative(process.cwd(), tokenFile)}` : 'sign in with ADMIN_TOKEN'})`);
  const sandboxed = base.lineChannelAccessToken === undefined || base.lineChannelSecret === undefined;
  process.stdout.write(
    [
      '',
      'line-hubspot-sync is running:',
      ...lines.map((l) => `  ${l}`),
      '',
      ...(sandboxed
        ? [
            'Make a sandbox friend follow and write (in another terminal):',
            '  npm run line -- follow',
            '  npm run line -- message',
            'then find it on the console, in the Temporal UI (search LineUserId = "U…") and in the sandbox HubSpot contacts.',
            '',
          ]
        : []),
      'Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
} catch (error) {
  log(`could not start: ${(error as Error).message}`);
  await stopAll();
  process.exit(1);
}

/** This machine's admin token for `npm start`: read from `file`, or made and saved there (owner-only). */
function localAdminToken(file: string): string {
  try {
    const saved = readFileSync(file, 'utf8').trim();
    if (/^[A-Za-z0-9_-]{16,}$/.test(saved)) return saved;
  } catch {
    // none yet
  }
  const token = randomBytes(24).toString('base64url');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return token;
}
