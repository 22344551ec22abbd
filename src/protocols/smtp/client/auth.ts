// AUTH for a smart host (RFC 4954): PLAIN with an initial response (RFC 4616), else LOGIN,
// only over TLS. Credentials never reach the wire in clear text.
import type { EhloCapabilities } from "../wire/ehlo.ts";
import type { ParsedReply } from "../wire/replies.ts";
import { replyInfo, type Connection } from "./connection.ts";
import { SmtpClientError } from "./types.ts";

function authFailure(r: ParsedReply): SmtpClientError {
  const info = replyInfo(r);
  return new SmtpClientError("auth", `authentication refused: ${info.code} ${info.text}`, { reply: info });
}

async function step(conn: Connection, line: string, timeoutMs: number): Promise<ParsedReply> {
  conn.expect(1);
  await conn.write(line, { phase: "auth", timeoutMs });
  return conn.read({ phase: "auth", timeoutMs });
}

export async function authenticate(
  conn: Connection,
  caps: EhloCapabilities,
  creds: { user: string; password: string },
  tlsUp: boolean,
  timeoutMs: number,
): Promise<void> {
  if (!tlsUp)
    throw new SmtpClientError("auth", "AUTH refused without TLS: the credentials would go in clear", {
      tlsFailure: true,
    });
  const mechs = caps.auth ?? [];
  const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64");
  let r: ParsedReply;
  if (mechs.includes("PLAIN")) {
    // RFC 4616 §2: [authzid] NUL authcid NUL passwd; RFC 4954 §4 initial response.
    r = await step(conn, `AUTH PLAIN ${b64(`\0${creds.user}\0${creds.password}`)}\r\n`, timeoutMs);
  } else if (mechs.includes("LOGIN")) {
    r = await step(conn, "AUTH LOGIN\r\n", timeoutMs);
    if (r.code === 334) r = await step(conn, `${b64(creds.user)}\r\n`, timeoutMs);
    if (r.code === 334) r = await step(conn, `${b64(creds.password)}\r\n`, timeoutMs);
  } else {
    throw new SmtpClientError("auth", "the server offers neither AUTH PLAIN nor AUTH LOGIN", {
      permanent: true,
    });
  }
  if (r.code === 334) {
    // A further challenge we cannot answer: cancel the exchange (RFC 4954 §4 "*").
    await step(conn, "*\r\n", timeoutMs);
    throw new SmtpClientError("auth", "unexpected SASL challenge", { permanent: true });
  }
  // RFC 4954 §6: 235 success; 4xx temporary; 5xx (535 bad credentials) permanent.
  if (r.code !== 235) throw authFailure(r);
}
