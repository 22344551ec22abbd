// RFC 9051 §6.3.4 CREATE (with CREATE-SPECIAL-USE, RFC 6154 §3; missing parents are created),
// §6.3.5 DELETE (a mailbox with children is refused: [HASCHILDREN]) and §6.3.6 RENAME (ids,
// UIDs and UIDVALIDITY kept; RENAME INBOX moves its messages to a new mailbox and leaves INBOX
// empty, since the store does not rename INBOX).
import type { Mailbox, MailboxRole } from "../../../../store/types.ts";
import type { CreateArgs, DeleteArgs, RenameArgs } from "../../wire/index.ts";
import { mailboxIdCode } from "../../wire/index.ts";
import { command, AUTHED } from "../command.ts";
import { no } from "../errors.ts";
import { DELIMITER, normalizePath, roleOfAttribute } from "../mailboxes.ts";
import type { ImapSession } from "../session.ts";

/** The parent of `path`, created with its own parents when missing; null for top level. */
async function ensureParent(s: ImapSession, path: string): Promise<Mailbox | null> {
  const parts = path.split(DELIMITER);
  parts.pop();
  let parentId: string | null = null;
  let parent: Mailbox | null = null;
  let prefix = "";
  for (const p of parts) {
    if (p === "") throw no("CANNOT", "Empty name component");
    prefix = prefix === "" ? p : prefix + DELIMITER + p;
    const found: Mailbox | null = await s.ctx.store.getMailboxByPath(s.accountId, prefix);
    parent = found ?? (await s.ctx.store.createMailbox(s.accountId, { name: p, parentId }));
    parentId = parent.id;
  }
  return parent;
}

function leaf(path: string): string {
  const i = path.lastIndexOf(DELIMITER);
  return i < 0 ? path : path.slice(i + 1);
}

async function createPath(s: ImapSession, path: string, role: MailboxRole | null): Promise<Mailbox> {
  if (path === "" || path === "INBOX") throw no("ALREADYEXISTS", path === "" ? "Empty name" : "INBOX exists");
  if (leaf(path) === "") throw no("CANNOT", "Empty name component");
  if ((await s.ctx.store.getMailboxByPath(s.accountId, path)) !== null)
    throw no("ALREADYEXISTS", "Mailbox exists");
  const parent = await ensureParent(s, path);
  return s.ctx.store.createMailbox(s.accountId, { name: leaf(path), parentId: parent?.id ?? null, role });
}

export const create = command<CreateArgs>({
  name: "CREATE",
  states: AUTHED,
  async handle(s, args) {
    const path = normalizePath(args.mailbox);
    let role: MailboxRole | null = null;
    for (const u of args.use) {
      const r = roleOfAttribute(u);
      // RFC 6154 §3: an unknown or unsupported attribute is refused with [USEATTR]
      if (r === undefined || role !== null) throw no("USEATTR", `Cannot create a mailbox with ${u}`);
      role = r;
    }
    const mb = await createPath(s, path, role);
    // RFC 8474 §4.1: the new mailbox's id
    return { text: "CREATE completed", code: mailboxIdCode(mb.id) };
  },
});

export const del = command<DeleteArgs>({
  name: "DELETE",
  states: AUTHED,
  async handle(s, args) {
    const path = normalizePath(args.mailbox);
    if (path === "INBOX") throw no("CANNOT", "INBOX cannot be deleted");
    const mb = await s.ctx.store.getMailboxByPath(s.accountId, path);
    if (mb === null) throw no("NONEXISTENT", "No such mailbox");
    const all = await s.ctx.store.listMailboxes(s.accountId);
    if (all.some((m) => m.parentId === mb.id))
      throw no("HASCHILDREN", "Mailbox has children: delete them first");
    await s.ctx.store.deleteMailbox(s.accountId, mb.id);
    if (s.selected?.mailbox.id === mb.id) s.selected.dirty = true;
  },
});

export const rename = command<RenameArgs>({
  name: "RENAME",
  states: AUTHED,
  async handle(s, args) {
    const from = normalizePath(args.from);
    const to = normalizePath(args.to);
    const store = s.ctx.store;
    const src = await store.getMailboxByPath(s.accountId, from);
    if (src === null) throw no("NONEXISTENT", "No such mailbox");
    if (to === "INBOX" || (await store.getMailboxByPath(s.accountId, to)) !== null)
      throw no("ALREADYEXISTS", "Target mailbox exists");
    if (from === "INBOX") {
      // RFC 9051 §6.3.6: renaming INBOX moves its messages to the new name; INBOX stays, empty
      const target = await createPath(s, to, null);
      const rows = await store.listMessages(s.accountId, src.id);
      for (let i = 0; i < rows.length; i += 500) {
        await store.moveEmails(
          s.accountId,
          src.id,
          rows.slice(i, i + 500).map((r) => r.emailId),
          target.id,
        );
      }
      return;
    }
    if (leaf(to) === "") throw no("CANNOT", "Empty name component");
    const parent = await ensureParent(s, to);
    await store.updateMailbox(s.accountId, src.id, { name: leaf(to), parentId: parent?.id ?? null });
  },
});
