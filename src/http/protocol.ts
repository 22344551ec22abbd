// Serving a Hono app on connections accepted by the listener manager: the manager owns the
// sockets (limits, TLS for https, tracking), and hands each one to a node:http server that
// never listens itself. The same handler serves the http and https services.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { getRequestListener } from "@hono/node-server";
import type { Hono } from "hono";
import type { Logger } from "../core/logger.ts";
import type { ProtocolHandler } from "../net/listener.ts";

export interface HttpProtocolOptions {
  logger: Logger;
  /** Time to receive a whole request. Default 5 minutes (uploads). */
  requestTimeoutMs?: number;
  /** Idle time of a keep-alive connection. Default 5 s. */
  keepAliveTimeoutMs?: number;
}

export function httpProtocol(app: Hono, opts: HttpProtocolOptions): ProtocolHandler {
  const server = createServer(
    {
      requestTimeout: opts.requestTimeoutMs ?? 300_000,
      headersTimeout: 60_000,
      keepAliveTimeout: opts.keepAliveTimeoutMs ?? 5000,
    },
    getRequestListener(app.fetch),
  );
  // Requests in flight per socket, and the sockets asked to close when they are done.
  const inFlight = new WeakMap<Socket, number>();
  const draining = new WeakSet<Socket>();
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const s = req.socket;
    inFlight.set(s, (inFlight.get(s) ?? 0) + 1);
    if (draining.has(s)) res.shouldKeepAlive = false;
    res.once("close", () => {
      const n = (inFlight.get(s) ?? 1) - 1;
      inFlight.set(s, n);
      if (n === 0 && draining.has(s)) s.destroySoon();
    });
  });
  server.on("clientError", (err: Error, socket) => {
    opts.logger.debug({ err: err.message }, "http client error");
    if (socket.writable)
      socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    else socket.destroy();
  });

  return {
    handle(socket, info) {
      info.onShutdown(() => {
        draining.add(socket);
        if ((inFlight.get(socket) ?? 0) === 0) socket.destroy();
      });
      server.emit("connection", socket);
    },
    // RFC 9110 §15.6.4: 503, the server is overloaded.
    tooManyConnections:
      "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\nRetry-After: 10\r\n\r\n",
  };
}
