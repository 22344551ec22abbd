// CREATE (RFC 9051 §6.3.4, with RFC 4466 §2.2 create-params and RFC 6154 §3 USE), DELETE
// (§6.3.5) and RENAME (§6.3.6).
import type { ArgReader } from "../args.ts";

export interface CreateArgs {
  type: "create";
  mailbox: string;
  /** RFC 6154 §3 CREATE-SPECIAL-USE: the special-use attributes asked for, as sent ("\\Sent"). */
  use: string[];
}

export interface DeleteArgs {
  type: "delete";
  mailbox: string;
}

export interface RenameArgs {
  type: "rename";
  from: string;
  to: string;
}

export function parseCreate(r: ArgReader): CreateArgs {
  r.sp();
  const mailbox = r.mailbox();
  const use: string[] = [];
  if (r.trySp()) {
    // RFC 4466 §2.2: create-params = "(" create-param *( SP create-param) ")"
    r.open();
    for (;;) {
      const name = r.keyword("a CREATE parameter");
      if (name !== "USE") r.fail(`Unknown CREATE parameter ${name}`);
      r.sp();
      // RFC 6154 §6: create-param =/ "USE" SP "(" [use-attr *(SP use-attr)] ")"
      r.open();
      if (!r.tryClose()) {
        for (;;) {
          r.expectChar("\\");
          use.push("\\" + r.atom("a special-use attribute"));
          if (r.tryClose()) break;
          r.sp();
        }
      }
      if (r.tryClose()) break;
      r.sp();
    }
  }
  r.end();
  return { type: "create", mailbox, use };
}

export function parseDelete(r: ArgReader): DeleteArgs {
  r.sp();
  const mailbox = r.mailbox();
  r.end();
  return { type: "delete", mailbox };
}

export function parseRename(r: ArgReader): RenameArgs {
  r.sp();
  const from = r.mailbox();
  r.sp();
  const to = r.mailbox();
  // todo RFC 4466 §2.3: rename-params are not defined by any extension we support
  r.end();
  return { type: "rename", from, to };
}
