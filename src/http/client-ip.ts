// The client address of a web request: the socket peer, or, behind a reverse proxy the
// operator trusts (http.trustProxy), the address the proxy appended last to
// X-Forwarded-For (RFC 7239 §5.2 describes the same chain for the Forwarded header).
import { getConnInfo } from "@hono/node-server/conninfo";
import type { Context } from "hono";
import { isIP } from "node:net";
import { normalizeIp } from "../net/listener.ts";

export function clientIp(c: Context, trustProxy: boolean): string {
  if (trustProxy) {
    const xff = c.req.header("x-forwarded-for");
    // The last entry is the one our proxy added; earlier ones are client-supplied.
    const last = xff
      ?.split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "")
      .pop();
    if (last !== undefined && isIP(last) !== 0) return normalizeIp(last);
  }
  return normalizeIp(getConnInfo(c).remote.address);
}
