// RFC 9051 §6.3.9 LIST with LIST-EXTENDED (RFC 5258: selection SUBSCRIBED, SPECIAL-USE,
// RECURSIVEMATCH; return SUBSCRIBED, CHILDREN, SPECIAL-USE), CHILDREN (RFC 3348),
// SPECIAL-USE attributes (RFC 6154 §2) and LIST-STATUS (RFC 5819); RFC 3501 §6.3.9 LSUB.
import type { ListArgs, ListEntry, LsubArgs } from "../../wire/index.ts";
import { listResponse, statusResponse } from "../../wire/index.ts";
import { command, AUTHED } from "../command.ts";
import type { NamedMailbox } from "../mailboxes.ts";
import { DELIMITER, matchesPattern, namedMailboxes, specialUse } from "../mailboxes.ts";
import type { ImapSession } from "../session.ts";
import { statusValues } from "./status.ts";

function hasChild(
  all: readonly NamedMailbox[],
  m: NamedMailbox,
  pred: (x: NamedMailbox) => boolean = () => true,
): boolean {
  const prefix = m.path + DELIMITER;
  return all.some((x) => x.path.startsWith(prefix) && pred(x));
}

async function runList(s: ImapSession, args: ListArgs): Promise<void> {
  // RFC 9051 §6.3.9: an empty pattern asks for the delimiter and the root
  if (args.patterns.length === 1 && args.patterns[0] === "") {
    s.send(listResponse({ attributes: ["\\Noselect"], delimiter: DELIMITER, name: "" }, s.writeOptions));
    return;
  }
  const all = await namedMailboxes(s.ctx.store, s.accountId);
  const patterns = args.patterns.map((p) => args.reference + p);
  const subscribedSel = args.selection.includes("SUBSCRIBED");
  const orphans = subscribedSel ? await s.ctx.store.orphanSubscriptions(s.accountId) : [];
  const recursive = args.selection.includes("RECURSIVEMATCH");
  const specialSel = args.selection.includes("SPECIAL-USE");
  const showSubscribed = subscribedSel || args.returns.subscribed;
  const matchesAny = (name: string): boolean => patterns.some((p) => matchesPattern(name, p));
  for (const m of all) {
    if (!matchesAny(m.path)) continue;
    const use = specialUse(m.mailbox.role);
    if (specialSel && use === null) continue;
    const entry: { attributes: string[]; childInfo?: string[] } = { attributes: [] };
    // RFC 5258 §3.5 (and §5 example 9): with RECURSIVEMATCH, CHILDINFO names a subscribed
    // descendant that no pattern matches itself (one that does is listed on its own)
    if (
      subscribedSel &&
      recursive &&
      (hasChild(all, m, (x) => x.mailbox.subscribed && !matchesAny(x.path)) ||
        orphans.some((o) => o.startsWith(m.path + DELIMITER) && !matchesAny(o)))
    )
      entry.childInfo = ["SUBSCRIBED"];
    if (subscribedSel && !m.mailbox.subscribed && entry.childInfo === undefined) continue;
    // RFC 3348 / RFC 5258 §4: \HasChildren or \HasNoChildren
    entry.attributes.push(hasChild(all, m) ? "\\HasChildren" : "\\HasNoChildren");
    if (showSubscribed && m.mailbox.subscribed) entry.attributes.push("\\Subscribed");
    if (use !== null) entry.attributes.push(use);
    const le: ListEntry = {
      attributes: entry.attributes,
      delimiter: DELIMITER,
      name: m.path,
      ...(entry.childInfo !== undefined ? { childInfo: entry.childInfo } : {}),
    };
    s.send(listResponse(le, s.writeOptions));
    // RFC 5819 §2: a STATUS response after each selectable mailbox listed
    if (
      args.returns.status !== null &&
      args.returns.status.length > 0 &&
      (!subscribedSel || m.mailbox.subscribed)
    ) {
      s.send(statusResponse(m.path, await statusValues(s, m.mailbox, args.returns.status), s.writeOptions));
    }
  }
  // RFC 5258 §3.1 SUBSCRIBED: subscribed names whose mailbox is gone are \NonExistent
  for (const name of orphans) {
    if (!matchesAny(name) || specialSel) continue;
    s.send(
      listResponse(
        { attributes: ["\\Subscribed", "\\NonExistent"], delimiter: DELIMITER, name },
        s.writeOptions,
      ),
    );
  }
}

export const list = command<ListArgs>({
  name: "LIST",
  states: AUTHED,
  async handle(s, args) {
    await runList(s, args);
  },
});

export const lsub = command<LsubArgs>({
  name: "LSUB",
  states: AUTHED,
  async handle(s, args) {
    const all = await namedMailboxes(s.ctx.store, s.accountId);
    const pattern = args.reference + args.pattern;
    const subscribed = new Set(all.filter((m) => m.mailbox.subscribed).map((m) => m.path));
    const orphans = await s.ctx.store.orphanSubscriptions(s.accountId);
    for (const name of orphans) subscribed.add(name);
    const out = new Map<string, string[]>();
    for (const path of subscribed) {
      if (matchesPattern(path, pattern)) {
        // a kept subscription whose mailbox is gone cannot be selected
        out.set(path, orphans.includes(path) ? ["\\Noselect"] : []);
        continue;
      }
      // RFC 3501 §6.3.9: "foo/bar" subscribed and "foo" not: a "%" that stops at "foo" returns
      // foo, flagged \Noselect
      const parts = path.split(DELIMITER);
      for (let n = parts.length - 1; n >= 1; n--) {
        const parent = parts.slice(0, n).join(DELIMITER);
        if (!out.has(parent) && !subscribed.has(parent) && matchesPattern(parent, pattern))
          out.set(parent, ["\\Noselect"]);
      }
    }
    const paths = [...out.keys()].sort((a, b) =>
      a === "INBOX" ? -1 : b === "INBOX" ? 1 : a < b ? -1 : a > b ? 1 : 0,
    );
    for (const path of paths)
      s.send(
        listResponse(
          { attributes: out.get(path) ?? [], delimiter: DELIMITER, name: path },
          s.writeOptions,
          "LSUB",
        ),
      );
  },
});
