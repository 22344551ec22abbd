// The literal list of IMAP commands this server runs (DESIGN.md "One file per command"). The
// dispatcher (session.ts) looks names up here; commands of later issues (SORT, THREAD,
// GETMETADATA, NOTIFY, COMPRESS, UNAUTHENTICATE, ...) are added to this list.
import type { AnyCommand } from "./command.ts";
import { append } from "./commands/append.ts";
import { replace, uidReplace } from "./commands/replace.ts";
import { authenticate, login } from "./commands/auth.ts";
import { capability } from "./commands/capability.ts";
import { compress } from "./commands/compress.ts";
import { copy, move, uidCopy, uidMove } from "./commands/copy-move.ts";
import { create, del, rename } from "./commands/create-delete-rename.ts";
import { enable } from "./commands/enable.ts";
import { expunge, uidExpunge } from "./commands/expunge.ts";
import { fetch, uidFetch } from "./commands/fetch.ts";
import { id, namespace } from "./commands/id-namespace.ts";
import { idle } from "./commands/idle.ts";
import { list, lsub } from "./commands/list.ts";
import { check, logout, noop } from "./commands/noop-logout.ts";
import { getquota, getquotaroot, setquota } from "./commands/quota.ts";
import { search, uidSearch } from "./commands/search.ts";
import { close, examine, select, unselect } from "./commands/select.ts";
import { starttls } from "./commands/starttls.ts";
import { status } from "./commands/status.ts";
import { store, uidStore } from "./commands/store.ts";
import { subscribe, unsubscribe } from "./commands/subscribe.ts";
import { unauthenticate } from "./commands/unauthenticate.ts";

const COMMANDS: readonly AnyCommand[] = [
  capability,
  noop,
  logout,
  check,
  starttls,
  login,
  authenticate,
  unauthenticate,
  enable,
  id,
  namespace,
  list,
  lsub,
  create,
  del,
  rename,
  subscribe,
  unsubscribe,
  status,
  select,
  examine,
  close,
  unselect,
  fetch,
  uidFetch,
  store,
  uidStore,
  search,
  uidSearch,
  copy,
  uidCopy,
  move,
  uidMove,
  expunge,
  uidExpunge,
  append,
  replace,
  uidReplace,
  idle,
  compress,
  getquota,
  getquotaroot,
  setquota,
];

export const REGISTRY: ReadonlyMap<string, AnyCommand> = new Map(COMMANDS.map((c) => [c.name, c]));
