// The MTA-STS policy of our own domains (RFC 8461 §3.3): senders fetch it from
// https://mta-sts.<domain>/.well-known/mta-sts.txt, so the https listener answers that path
// for every local domain, from the `mtaSts` configuration section (§3.2 format, CRLF lines,
// text/plain). Other host names get 404.
import type { Hono } from "hono";
import type { Config } from "../config/schema.ts";
import type { MailStore } from "../store/types.ts";

/** §3.2: the policy text. */
export function policyText(cfg: Pick<Config, "mtaSts" | "server">): string {
  const mx = cfg.mtaSts.mx.length > 0 ? cfg.mtaSts.mx : [cfg.server.hostname];
  const lines = [
    "version: STSv1",
    `mode: ${cfg.mtaSts.mode}`,
    ...mx.map((m) => `mx: ${m}`),
    `max_age: ${cfg.mtaSts.maxAgeDays * 86_400}`,
  ];
  return lines.join("\r\n") + "\r\n";
}

export function registerMtaStsPolicy(app: Hono, store: MailStore, config: () => Config): void {
  app.get("/.well-known/mta-sts.txt", async (c) => {
    const host = (c.req.header("host") ?? "").toLowerCase().replace(/:\d+$/, "").replace(/\.$/, "");
    const domain = host.startsWith("mta-sts.") ? host.slice("mta-sts.".length) : "";
    if (domain === "" || (await store.getDomain(domain)) === null) return c.text("not found\n", 404);
    return c.body(policyText(config()), 200, { "content-type": "text/plain; charset=utf-8" });
  });
}
