// Open-loop HTTP load client, run as a child process of a benchmark (so that its timers do not
// share an event loop with the service it measures).
//
// Open loop: request i is due at t0 + i / rate and is sent then, whatever happened to earlier
// requests. Its latency is measured from when it was *due*, not from when it left, so a stalled
// server (or a full socket pool) shows up as latency instead of being hidden by a slower send rate
// (no coordinated omission).
//
// Protocol (IPC): the parent sends {type:'run', id, plan}; the child answers {type:'result', id, result}.
// {type:'exit'} closes every socket and exits.
import http from 'node:http';
import { performance } from 'node:perf_hooks';

export interface OpenLoopRequest {
  body: string;
  headers: Record<string, string>;
}

export interface OpenLoopPlan {
  /** http://127.0.0.1:port/path (loopback only) */
  url: string;
  /** requests per second */
  rate: number;
  requests: OpenLoopRequest[];
  /** per request; a request still unanswered then counts as an error (status 0) */
  timeoutMs: number;
  /** most sockets at once; more requests wait for a socket (and that wait is part of their latency) */
  maxSockets: number;
}

export interface OpenLoopResult {
  /** epoch ms at which request 0 was due */
  startedAtEpochMs: number;
  /** per request, index as in the plan: ms from due time to the end of the answer */
  latencyMs: number[];
  /** per request: HTTP status, 0 for a transport error or timeout */
  status: number[];
  /** per request: epoch ms at which it was due */
  dueAtEpochMs: number[];
  /** ms from due time to the moment it was handed to the socket layer (the client's own lag) */
  sendLagMs: { p50: number; p99: number; max: number };
  /** requests sent per second, first to last send */
  achievedRate: number;
  /** wall time from the first due time to the last answer (ms) */
  elapsedMs: number;
  maxInFlight: number;
  errors: Record<string, number>;
  /** CPU used by this client process during the run (ms) */
  clientCpuMs: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export async function runOpenLoop(plan: OpenLoopPlan): Promise<OpenLoopResult> {
  const target = new URL(plan.url);
  if (target.hostname !== '127.0.0.1' && target.hostname !== 'localhost' && target.hostname !== '[::1]') {
    throw new Error(`the load client only talks to loopback, not ${target.hostname}`);
  }
  const agent = new http.Agent({ keepAlive: true, maxSockets: plan.maxSockets, maxFreeSockets: plan.maxSockets });
  const n = plan.requests.length;
  const interval = 1000 / plan.rate;
  const latencyMs = new Array<number>(n).fill(NaN);
  const status = new Array<number>(n).fill(-1);
  const dueAtEpochMs = new Array<number>(n).fill(0);
  const sendLag: number[] = [];
  const errors: Record<string, number> = {};
  let inFlight = 0;
  let maxInFlight = 0;
  let done = 0;
  let firstSent = NaN;
  let lastSent = NaN;
  let lastAnswer = 0;
  const cpuBefore = process.cpuUsage();
  const t0 = performance.now() + 20;
  const epochOfT0 = performance.timeOrigin + t0;

  return new Promise<OpenLoopResult>((resolve) => {
    const finish = () => {
      agent.destroy();
      const cpu = process.cpuUsage(cpuBefore);
      const lags = [...sendLag].sort((a, b) => a - b);
      resolve({
        startedAtEpochMs: epochOfT0,
        latencyMs,
        status,
        dueAtEpochMs,
        sendLagMs: { p50: percentile(lags, 50), p99: percentile(lags, 99), max: lags[lags.length - 1] ?? NaN },
        achievedRate: n > 1 ? ((n - 1) * 1000) / (lastSent - firstSent) : n,
        elapsedMs: lastAnswer - t0,
        maxInFlight,
        errors,
        clientCpuMs: (cpu.user + cpu.system) / 1000,
      });
    };

    const complete = (i: number, code: number, error?: string) => {
      if (status[i] !== -1) return;
      const now = performance.now();
      status[i] = code;
      latencyMs[i] = now - (t0 + i * interval);
      if (error) errors[error] = (errors[error] ?? 0) + 1;
      inFlight--;
      done++;
      lastAnswer = Math.max(lastAnswer, now);
      if (done === n) finish();
    };

    const fire = (i: number) => {
      const due = t0 + i * interval;
      dueAtEpochMs[i] = performance.timeOrigin + due;
      const { body, headers } = plan.requests[i]!;
      const request = http.request(
        {
          agent,
          method: 'POST',
          hostname: target.hostname,
          port: target.port,
          path: target.pathname + target.search,
          headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        },
        (response) => {
          response.resume();
          response.once('end', () => complete(i, response.statusCode ?? 0));
          response.once('error', (error) => complete(i, 0, `response: ${error.message}`));
        },
      );
      request.setTimeout(plan.timeoutMs, () => request.destroy(new Error(`timeout after ${plan.timeoutMs} ms`)));
      request.once('error', (error) => complete(i, 0, error.message));
      request.end(body);
      const sent = performance.now();
      sendLag.push(sent - due);
      if (Number.isNaN(firstSent)) firstSent = sent;
      lastSent = sent;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
    };

    if (n === 0) {
      finish();
      return;
    }
    let next = 0;
    const tick = () => {
      const now = performance.now();
      while (next < n && t0 + next * interval <= now) fire(next++);
      if (next < n) setTimeout(tick, Math.max(0, t0 + next * interval - performance.now()));
    };
    setTimeout(tick, Math.max(0, t0 - performance.now()));
  });
}

// ---- child-process entry ----
interface RunMessage {
  type: 'run';
  id: number;
  plan: OpenLoopPlan;
}

if (process.send && process.argv.includes('--open-loop-child')) {
  process.on('message', (message: RunMessage | { type: 'exit' }) => {
    if (message.type === 'exit') {
      process.disconnect?.();
      process.exit(0);
    }
    if (message.type === 'run') {
      runOpenLoop(message.plan).then(
        (result) => process.send!({ type: 'result', id: message.id, result }),
        (error: unknown) => process.send!({ type: 'result', id: message.id, error: (error as Error).message }),
      );
    }
  });
  // The parent going away (crash, Ctrl-C) takes this process with it.
  process.on('disconnect', () => process.exit(0));
  process.send({ type: 'ready' });
}
