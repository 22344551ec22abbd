// The web application shared by the http and https listeners. It starts with the operational
// endpoints; later features mount their own apps on it before the server listens:
//   app.route("/jmap", jmapApp)   app.route("/.well-known", wellKnownApp)
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { Logger } from "../core/logger.ts";
import type { Metrics } from "../core/metrics.ts";

/** What /healthz asks: the store answers a cheap query. Resolves when healthy. */
export type HealthCheck = () => Promise<void>;

export interface HttpAppDeps {
  metrics: Metrics;
  logger: Logger;
  /** Store health; /healthz answers 503 when it rejects or takes longer than healthTimeoutMs. */
  health: HealthCheck;
  healthTimeoutMs?: number;
  /** Largest request body, in bytes (http.maxBodySize); 413 beyond. */
  maxBodySize?: number;
}

async function withTimeout(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export function createHttpApp(deps: HttpAppDeps): Hono {
  const app = new Hono();
  // Requests count as commands of the "http" service, by method and status.
  app.use("*", async (c, next) => {
    await next();
    deps.metrics.commandsTotal.inc({ service: "http", command: c.req.method, status: String(c.res.status) });
  });
  if (deps.maxBodySize !== undefined) {
    app.use(
      "*",
      bodyLimit({ maxSize: deps.maxBodySize, onError: (c) => c.text("request body too large", 413) }),
    );
  }

  // Liveness and readiness for load balancers and orchestrators.
  app.get("/healthz", async (c) => {
    try {
      await withTimeout(deps.health(), deps.healthTimeoutMs ?? 2000);
      return c.json({ status: "ok" });
    } catch (e) {
      deps.logger.warn({ err: (e as Error).message }, "health check failed");
      return c.json({ status: "unavailable", error: "store not answering" }, 503);
    }
  });

  // Prometheus text exposition format of this server's registry.
  app.get("/metrics", async (c) => {
    const body = await deps.metrics.text();
    return c.body(body, 200, { "Content-Type": deps.metrics.contentType });
  });

  app.onError((err, c) => {
    deps.logger.error({ err: err.stack ?? err.message, path: c.req.path }, "http handler failed");
    return c.json({ error: "internal server error" }, 500);
  });
  return app;
}
