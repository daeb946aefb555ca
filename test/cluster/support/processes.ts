// The service's own processes, started exactly as an operator starts them: `npm run worker` and
// `npm run server` (whatever those scripts run: TypeScript or the compiled build), each in its own
// process group so that a SIGKILL takes the whole tree down like a lost machine.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../../src/temporal/cli.ts';

export interface ServiceProcess {
  name: string;
  child: ChildProcess;
  /** the last lines it printed */
  tail(): string;
  /** SIGKILL to the whole process group (npm, its shell, node) */
  kill(): Promise<void>;
  /** SIGTERM (a graceful stop), SIGKILL after `graceMs` */
  stop(graceMs?: number): Promise<void>;
}

const exited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

export async function startServiceProcess(name: string, script: 'worker' | 'server', env: Record<string, string>, ready: RegExp, timeoutMs = 180_000): Promise<ServiceProcess> {
  const path = `${join(PROJECT_ROOT, 'node_modules', '.bin')}:${process.env.PATH ?? ''}`;
  const child = spawn('npm', ['run', '--silent', script], {
    cwd: PROJECT_ROOT,
    env: { PATH: path, HOME: process.env.HOME ?? '/root', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const group = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // already gone
    }
  };
  // Never outlive the test.
  const onExit = () => group('SIGKILL');
  process.once('exit', onExit);
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let early: ((code: number | null, signal: NodeJS.Signals | null) => void) | undefined;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not become ready in ${timeoutMs} ms:\n${output.slice(-3000)}`)), timeoutMs);
    const check = () => {
      if (ready.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    early = (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code ?? signal}) before it was ready:\n${output.slice(-3000)}`));
    };
    child.once('exit', early);
  }).catch((error: unknown) => {
    group('SIGKILL');
    throw error;
  });
  child.removeListener('exit', early!);
  child.once('exit', () => process.removeListener('exit', onExit));
  return {
    name,
    child,
    tail: () => output,
    async kill() {
      if (exited(child)) return;
      group('SIGKILL');
      await gone;
    },
    async stop(graceMs = 15_000) {
      if (exited(child)) return;
      group('SIGTERM');
      const timer = setTimeout(() => group('SIGKILL'), graceMs);
      await gone;
      clearTimeout(timer);
      group('SIGKILL'); // anything of the group left behind
    },
  };
}
