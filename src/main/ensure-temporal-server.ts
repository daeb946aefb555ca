// `npm run temporal:server:ensure`: finds or builds the pinned temporal-server (and temporal-sql-tool)
// under .tools/ and prints where they are. `npm run test:cluster` runs it first.
import { ensureTemporalServer } from '../temporal/server-build.ts';

const quiet = process.argv.includes('--quiet');
const log = (line: string) => process.stderr.write(`${line}\n`);
try {
  const tools = await ensureTemporalServer(log);
  if (!quiet) process.stdout.write(`temporal-server ${tools.version}: ${tools.server}\ntemporal-sql-tool: ${tools.sqlTool}\nPostgreSQL schemas: ${tools.postgresSchemaDir}\n`);
} catch (error) {
  log(`could not build temporal-server: ${(error as Error).message.split('\n').slice(0, 8).join('\n')}`);
  process.exitCode = 1;
}
