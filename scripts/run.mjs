// The launcher behind `npm start`, `npm run server`, `npm run worker`, …: runs the compiled entry
// dist/src/main/<name>.js, building dist/ first when it is missing or older than the sources.
// No TypeScript loader at run time; source maps on for dist/, so stack traces name the .ts lines.
//
//   node scripts/run.mjs <start|server|worker|import|line|sandbox|ensure-temporal> [args…]
import { setSourceMapsSupport } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DIST, staleReason } from './build-info.mjs';

const ENTRIES = ['start', 'server', 'worker', 'import', 'line', 'sandbox', 'ensure-temporal'];
const FILES = { line: 'line-friend' };
const name = process.argv[2];
if (!ENTRIES.includes(name)) {
  process.stderr.write(`usage: node scripts/run.mjs <${ENTRIES.join('|')}> [args…]\n`);
  process.exit(2);
}

const stale = staleReason();
if (stale) {
  process.stderr.write(`[build] ${stale}: building…\n`);
  const { build } = await import('./build.mjs');
  try {
    await build();
  } catch (error) {
    process.stderr.write(`[build] ${error.message}\n`);
    process.exit(1);
  }
}

// Source maps of our own code only: node_modules' maps (the SDKs ship theirs) would cost ~35 MB of RSS
// in every process for stack frames nobody here debugs.
setSourceMapsSupport(true, { nodeModules: false, generatedCode: false });
// The entry parses its own arguments from process.argv.slice(2).
process.argv.splice(2, 1);
await import(pathToFileURL(join(DIST, 'src', 'main', `${FILES[name] ?? name}.js`)).href);
