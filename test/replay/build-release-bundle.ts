// Builds the workflow bundle of a release from git and saves it as the fixture the upgrade test
// starts workflows on (test/fixtures/release-bundle/): run it when a release is cut.
//
//   node --import tsx test/replay/build-release-bundle.ts [<commit>]     (default: HEAD)
//
// The fixture is committed (a shallow clone in CI may not hold the release's commit).
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/temporal/cli.ts';
import { bundleWorkflows } from '../../src/temporal/workflow-bundle.ts';

const commit = execFileSync('git', ['rev-parse', process.argv[2] ?? 'HEAD'], { cwd: PROJECT_ROOT, encoding: 'utf8' }).trim();
// Inside the project, so that webpack resolves the SDK from its node_modules.
const tree = join(PROJECT_ROOT, '.data', 'release-build', commit);
rmSync(tree, { recursive: true, force: true });
mkdirSync(tree, { recursive: true });
execFileSync('sh', ['-c', `git archive ${commit} workflows src | tar -x -C "${tree}"`], { cwd: PROJECT_ROOT });
const { code } = await bundleWorkflows(join(tree, 'workflows', 'index.ts'));
const out = join(PROJECT_ROOT, 'test', 'fixtures', 'release-bundle');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'workflow-bundle.js'), code);
const subject = execFileSync('git', ['log', '-1', '--format=%s', commit], { cwd: PROJECT_ROOT, encoding: 'utf8' }).trim();
writeFileSync(join(out, 'release.json'), `${JSON.stringify({ commit, subject, builtAt: new Date().toISOString() }, null, 2)}\n`);
rmSync(tree, { recursive: true, force: true });
process.stderr.write(`test/fixtures/release-bundle/workflow-bundle.js: the workflows of ${commit.slice(0, 7)} (${(code.length / 1024).toFixed(0)} KB)\n`);
