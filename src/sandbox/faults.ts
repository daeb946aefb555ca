// Fault injection shared by the sandbox APIs (LINE, HubSpot): "the next N calls (optionally under a
// path prefix) answer with this status". Answered from an onRequest hook, before any route runs, so
// an injected fault looks to the client exactly like the vendor failing; `/_sandbox/` control routes
// are never affected.
import type { FastifyInstance } from 'fastify';

export interface FaultRule {
  /** HTTP status to answer, e.g. 429, 500, 503 */
  status: number;
  /** how many matching calls still get this fault */
  count: number;
  /** only calls whose path (without query) starts with this; unset: any call */
  pathPrefix?: string;
  /** response body; unset: the sandbox's vendor-shaped body for the status */
  body?: unknown;
  /** extra response headers (e.g. rate-limit headers) */
  headers?: Record<string, string>;
}

export class FaultInjector {
  private rules: FaultRule[] = [];

  add(rule: FaultRule): void {
    if (!Number.isInteger(rule.status) || rule.status < 100 || rule.status > 599) {
      throw new RangeError(`fault status must be an HTTP status (100-599), got ${String(rule.status)}`);
    }
    if (!Number.isInteger(rule.count) || rule.count < 1) {
      throw new RangeError(`fault count must be a whole number >= 1, got ${String(rule.count)}`);
    }
    if (rule.pathPrefix !== undefined && (typeof rule.pathPrefix !== 'string' || !rule.pathPrefix.startsWith('/'))) {
      throw new RangeError(`fault pathPrefix must start with "/", got ${String(rule.pathPrefix)}`);
    }
    this.rules.push({ ...rule, ...(rule.headers ? { headers: { ...rule.headers } } : {}) });
  }

  /** The first rule matching `path` (rules apply in the order added), consuming one of its calls. */
  take(path: string): FaultRule | undefined {
    const index = this.rules.findIndex((r) => r.pathPrefix === undefined || path.startsWith(r.pathPrefix));
    if (index < 0) return undefined;
    const rule = this.rules[index]!;
    rule.count -= 1;
    if (rule.count <= 0) this.rules.splice(index, 1);
    return { ...rule };
  }

  /** Rules still pending (copies). */
  pending(): FaultRule[] {
    return this.rules.map((r) => ({ ...r }));
  }

  clear(): void {
    this.rules = [];
  }
}

function isControlPath(path: string): boolean {
  return path === '/_sandbox' || path.startsWith('/_sandbox/');
}

/** Answers injected faults before routes run (never for `/_sandbox/` control routes). */
export function installFaults(app: FastifyInstance, injector: FaultInjector, defaultBody: (status: number) => unknown): void {
  app.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?', 1)[0] ?? request.url;
    if (isControlPath(path)) return;
    const rule = injector.take(path);
    if (rule === undefined) return;
    reply.code(rule.status);
    if (rule.headers) reply.headers(rule.headers);
    return reply.send(rule.body !== undefined ? rule.body : defaultBody(rule.status));
  });
}
