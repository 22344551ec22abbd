// Every POP3 command and its handler (a literal registry: adding a command is one line).
import { apop, pass, user } from "./commands/user-pass.ts";
import { auth } from "./commands/auth.ts";
import { capa } from "./commands/capa.ts";
import { stls } from "./commands/stls.ts";
import { utf8 } from "./commands/utf8.ts";
import { lang } from "./commands/lang.ts";
import { list, stat, uidl } from "./commands/stat-list.ts";
import { retr, top } from "./commands/retr-top.ts";
import { dele, rset } from "./commands/dele-rset.ts";
import { noop, quit } from "./commands/noop-quit.ts";
import type { CommandRegistry } from "./command.ts";

export const COMMANDS: CommandRegistry = {
  USER: user,
  PASS: pass,
  APOP: apop,
  AUTH: auth,
  CAPA: capa,
  STLS: stls,
  UTF8: utf8,
  LANG: lang,
  STAT: stat,
  LIST: list,
  UIDL: uidl,
  RETR: retr,
  DELE: dele,
  TOP: top,
  NOOP: noop,
  RSET: rset,
  QUIT: quit,
};
