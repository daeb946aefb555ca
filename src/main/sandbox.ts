// `npm run sandbox`: the sandbox LINE and HubSpot APIs alone, for `npm run server` / `npm run worker`
// run as separate processes. Prints the environment that points the service at them.
import { configOrExit, loadConfig } from '../config.ts';
import { SANDBOX_HUBSPOT_ACCESS_TOKEN, startHubspotSandbox } from '../sandbox/hubspot.ts';
import { SANDBOX_LINE_CHANNEL_ACCESS_TOKEN, SANDBOX_LINE_CHANNEL_SECRET, SANDBOX_LINE_LOGIN_CHANNEL_ID, startLineSandbox } from '../sandbox/line.ts';
import { onShutdown } from '../service.ts';

const config = configOrExit(() => loadConfig());
const log = (line: string) => process.stderr.write(`[sandbox] ${line}\n`);
const line = await startLineSandbox({ port: config.sandboxLinePort, host: config.host });
const hubspot = await startHubspotSandbox({ port: config.sandboxHubspotPort, host: config.host, requestsPer10s: config.hubspotRequestsPer10s });
onShutdown(async () => {
  await Promise.all([line.close(), hubspot.close()]);
}, log);
process.stdout.write(
  [
    `sandbox LINE API     ${line.url}`,
    `sandbox HubSpot API  ${hubspot.url} (contacts: ${hubspot.url}/_sandbox/contacts)`,
    '',
    'Point the server and the worker at them with:',
    `  export LINE_API_BASE_URL=${line.url} LINE_CHANNEL_SECRET=${SANDBOX_LINE_CHANNEL_SECRET} LINE_CHANNEL_ACCESS_TOKEN=${SANDBOX_LINE_CHANNEL_ACCESS_TOKEN} LINE_LOGIN_CHANNEL_ID=${SANDBOX_LINE_LOGIN_CHANNEL_ID}`,
    `  export HUBSPOT_BASE_URL=${hubspot.url} HUBSPOT_ACCESS_TOKEN=${SANDBOX_HUBSPOT_ACCESS_TOKEN}`,
    '',
  ].join('\n'),
);
