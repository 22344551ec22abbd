// RFC 9051 §6.1.1 CAPABILITY, and the one list of what this server advertises. Only what
// fully works is listed (issue 4: an external suite tests every advertised capability).
import { command, ANY } from "../command.ts";
import { capabilityResponse } from "../../wire/index.ts";
import type { ImapSession } from "../session.ts";

/** The capabilities for the session's state (RFC 9051 §7.2.2). */
export function capabilityList(s: ImapSession): string[] {
  const caps = ["IMAP4rev1", "IMAP4rev2"];
  if (s.state === "notauth") {
    if (s.starttlsAvailable()) caps.push("STARTTLS");
    // RFC 9051 §6.2.3: LOGINDISABLED while plaintext logins are refused
    if (!s.plaintextAllowed()) caps.push("LOGINDISABLED");
    for (const m of s.ctx.auth.mechanisms({ tls: s.tls, plaintextAllowed: s.plaintextAllowed() }))
      caps.push(`AUTH=${m}`);
    caps.push("SASL-IR");
  }
  caps.push(
    "LITERAL+",
    "ENABLE",
    "MULTIAPPEND",
    "IDLE",
    "ID",
    "NAMESPACE",
    "UNSELECT",
    "UNAUTHENTICATE",
    "UIDPLUS",
    "REPLACE",
    "MOVE",
    "CHILDREN",
    "LIST-EXTENDED",
    "LIST-STATUS",
    "SPECIAL-USE",
    "CREATE-SPECIAL-USE",
    "ESEARCH",
    "SEARCHRES",
    "WITHIN",
    "CONDSTORE",
    "QRESYNC",
    "UTF8=ACCEPT",
    "STATUS=SIZE",
    "OBJECTID",
    "SAVEDATE",
    "PREVIEW",
    "QUOTA",
    "QUOTA=RES-STORAGE",
    "QUOTA=RES-MESSAGE",
    "BINARY",
    `APPENDLIMIT=${s.appendLimit()}`,
  );
  // RFC 9208 §1: QUOTASET with SETQUOTA, which only administrators may use (quota.ts)
  if (s.identity?.admin === true) caps.push("QUOTASET");
  if (s.compressAvailable()) caps.push("COMPRESS=DEFLATE");
  return caps;
}

export const capability = command({
  name: "CAPABILITY",
  states: ANY,
  async handle(s) {
    s.send(capabilityResponse(s.capabilities()));
  },
});
