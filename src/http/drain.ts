/**
 * Graceful stop of an HTTP server. `server.close()` alone stops accepting and then waits for every
 * connection to end, and a keep-alive connection whose request was in flight stays open after its
 * response until the client or the keep-alive timeout closes it (seconds, or never under a busy proxy).
 * Draining answers the requests in flight and any that arrive on open connections meanwhile with
 * `Connection: close`, closes idle connections at once, and after `timeoutMs` closes whatever is left.
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";

export interface Drainable {
  /** Resolves once every connection has closed; `forced` counts the connections cut at the deadline. */
  drain(timeoutMs: number): Promise<{ forced: number; ms: number }>;
  readonly draining: boolean;
}

export function drainable(server: Server): Drainable {
  const inFlight = new Set<ServerResponse>();
  let draining = false;
  server.on("request", (_req: IncomingMessage, res: ServerResponse) => {
    if (draining) res.setHeader("Connection", "close");
    inFlight.add(res);
    res.on("close", () => inFlight.delete(res));
    // A response whose keep-alive headers went out before the drain began leaves its connection open.
    res.on("finish", () => draining && setImmediate(() => server.closeIdleConnections()));
  });
  return {
    get draining() {
      return draining;
    },
    drain(timeoutMs) {
      const t0 = Date.now();
      draining = true;
      return new Promise((resolve) => {
        let forced = 0;
        const deadline = setTimeout(() => {
          forced = inFlight.size;
          server.closeAllConnections();
        }, timeoutMs);
        server.close(() => {
          clearTimeout(deadline);
          resolve({ forced, ms: Date.now() - t0 });
        });
        for (const res of inFlight) if (!res.headersSent) res.setHeader("Connection", "close");
        server.closeIdleConnections();
      });
    },
  };
}
