// `node --import ./test/support/forbid-dev-dependencies.mjs …`: fails any import of a development
// tool (a TypeScript loader or compiler, the Temporal test server) so a test proves the compiled
// build runs without them, as after `npm install --omit=dev`.
import { registerHooks } from 'node:module';

const DEV_ONLY = /\/node_modules\/(tsx|typescript|esbuild|@esbuild|@temporalio\/testing|@types)\//;

registerHooks({
  resolve(specifier, context, nextResolve) {
    const resolved = nextResolve(specifier, context);
    if (DEV_ONLY.test(resolved.url)) throw new Error(`a development dependency was loaded at run time: ${resolved.url} (from ${context.parentURL})`);
    if (resolved.url.endsWith('.ts')) throw new Error(`TypeScript was loaded at run time: ${resolved.url} (from ${context.parentURL})`);
    return resolved;
  },
});
