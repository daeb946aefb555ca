// `npm run server`: the HTTP server alone, against TEMPORAL_ADDRESS.
import { configOrExit, loadConfig, requireFor } from '../config.ts';
import { onShutdown, startServer } from '../service.ts';

const config = configOrExit(() => {
  const c = loadConfig();
  requireFor(c, 'server');
  return c;
});
const log = (line: string) => process.stderr.write(`[server] ${line}\n`);
const server = await startServer(config);
log(`listening on ${server.url}`);
onShutdown(() => server.stop(), log);
