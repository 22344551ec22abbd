// The argument of VRFY and EXPN (RFC 5321 §3.5, §4.1.1.6, §4.1.1.7): a user name or a mailbox,
// bare, in angle brackets, or after a display name ("Jane <jane@example.org>"); RFC 6531
// §3.7.4.2 lets a client add the SMTPUTF8 parameter. Pure: the server looks the target up.
import { isDomain } from "./path.ts";

export type VrfyTarget =
  { kind: "mailbox"; localPart: string; domain: string } | { kind: "name"; name: string };

/** The target named by a VRFY/EXPN argument, or null when it names nothing usable. */
export function parseVrfyArgument(arg: string): VrfyTarget | null {
  let s = arg.trim().replace(/\s+SMTPUTF8$/i, "");
  const open = s.lastIndexOf("<");
  if (open !== -1) {
    if (!s.endsWith(">")) return null;
    s = s.slice(open + 1, -1).trim();
  }
  if (s === "" || /[\s<>]/.test(s)) return null;
  const at = s.lastIndexOf("@");
  if (at === -1) return { kind: "name", name: s };
  const localPart = s.slice(0, at);
  const domain = s.slice(at + 1);
  if (localPart === "" || !isDomain(domain.endsWith(".") ? domain.slice(0, -1) : domain, true)) return null;
  return { kind: "mailbox", localPart, domain };
}
