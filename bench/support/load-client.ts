// The parent side of bench/support/open-loop-client.ts: forks the client process and runs plans on it.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { OpenLoopPlan, OpenLoopResult } from './open-loop-client.ts';

export type { OpenLoopPlan, OpenLoopRequest, OpenLoopResult } from './open-loop-client.ts';

interface ResultMessage {
  type: 'result';
  id: number;
  result?: OpenLoopResult;
  error?: string;
}

export class LoadClient {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (r: OpenLoopResult) => void; reject: (e: Error) => void }>();

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (message: ResultMessage | { type: 'ready' }) => {
      if (message.type !== 'result') return;
      const entry = this.waiting.get(message.id);
      if (!entry) return;
      this.waiting.delete(message.id);
      if (message.result) entry.resolve(message.result);
      else entry.reject(new Error(message.error ?? 'load client failed'));
    });
    child.once('exit', (code, signal) => {
      for (const entry of this.waiting.values()) entry.reject(new Error(`load client exited (${signal ?? code})`));
      this.waiting.clear();
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  static async start(): Promise<LoadClient> {
    const child = fork(fileURLToPath(new URL('./open-loop-client.ts', import.meta.url)), ['--open-loop-child'], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    await new Promise<void>((resolve, reject) => {
      const onMessage = (message: { type?: string }) => {
        if (message.type === 'ready') {
          child.off('message', onMessage);
          child.off('exit', onExit);
          resolve();
        }
      };
      const onExit = (code: number | null) => reject(new Error(`load client exited before it was ready (${code})`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
    return new LoadClient(child);
  }

  run(plan: OpenLoopPlan): Promise<OpenLoopResult> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.child.send({ type: 'run', id, plan });
    });
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    if (this.child.connected) this.child.send({ type: 'exit' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await gone;
    clearTimeout(timer);
  }
}
