// RFC 5161 ENABLE (RFC 9051 §6.3.1): IMAP4rev2 (RFC 9051), UTF8=ACCEPT (RFC 6855 §3),
// CONDSTORE and QRESYNC (RFC 7162 §3.2.3: QRESYNC implies CONDSTORE). Only in the
// authenticated state (RFC 5161 §3.1); "* ENABLED" lists what this command turned on.
import { enabledResponse } from "../../wire/index.ts";
import type { EnableArgs } from "../../wire/index.ts";
import { command, AUTHED } from "../command.ts";
import { bad } from "../errors.ts";

const KNOWN = new Map([
  ["IMAP4REV2", "IMAP4rev2"],
  ["UTF8=ACCEPT", "UTF8=ACCEPT"],
  ["CONDSTORE", "CONDSTORE"],
  ["QRESYNC", "QRESYNC"],
]);

export const enable = command<EnableArgs>({
  name: "ENABLE",
  states: AUTHED,
  async handle(s, args) {
    // RFC 7162 §3.2.3: ENABLE QRESYNC while a mailbox is selected would change numbering midway
    if (s.state === "selected") throw bad("ENABLE is only allowed before SELECT", "CLIENTBUG");
    const newly: string[] = [];
    for (const c of args.capabilities) {
      const up = c.toUpperCase();
      const name = KNOWN.get(up);
      if (name === undefined || s.enabled.has(up)) continue;
      s.enabled.add(up);
      newly.push(name);
      if (up === "QRESYNC" && !s.enabled.has("CONDSTORE")) s.enabled.add("CONDSTORE");
    }
    s.send(enabledResponse(newly));
    return { text: "ENABLE completed" };
  },
});
