// Unix domain socket listeners (e.g. LMTP for an MTA on the same host, as RFC 2033 §5
// expects LMTP to be local): the parent folder is created, a stale socket file left by a
// server that is gone is removed (one that still answers is refused, so two servers never
// share a path), the permissions are set, and at stop the file is removed, only if it is still
// the one we created.
import { lstat, chmod, mkdir, unlink } from "node:fs/promises";
import { connect, type Server } from "node:net";
import { dirname } from "node:path";

/** ConnectionInfo.remoteAddress of a unix socket client (it has no IP address). */
export const UNIX_PEER = "unix";

/** The socket file a listener created, identified by device and inode. */
export interface UnixSocketFile {
  path: string;
  dev: number;
  ino: number;
}

function code(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException).code;
}

/** True when a server accepts connections on the socket at `path`. */
async function answers(path: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const s = connect({ path });
    const timer = setTimeout(() => {
      // Connected to nothing yet but not refused either: a live server with a full backlog.
      s.destroy();
      resolve(true);
    }, timeoutMs);
    s.once("connect", () => {
      clearTimeout(timer);
      s.destroy();
      resolve(true);
    });
    s.once("error", (e) => {
      clearTimeout(timer);
      // ECONNREFUSED: nobody listens on the file any more (a crashed server's leftover).
      if (code(e) === "ECONNREFUSED" || code(e) === "ENOENT") resolve(false);
      else reject(e);
    });
  });
}

/** Removes a leftover socket file at `path`; refuses a live one or anything not a socket. */
async function clearStale(path: string): Promise<void> {
  let st;
  try {
    st = await lstat(path);
  } catch (e) {
    if (code(e) === "ENOENT") return;
    throw e;
  }
  if (!st.isSocket()) throw new Error(`${path} exists and is not a socket`);
  if (await answers(path)) throw new Error(`${path} is in use by another server`);
  await unlink(path);
}

/**
 * Makes `server` listen on the unix socket `path` with permissions `mode`. The socket is
 * created with the process umask and chmod'ed right after bind, before the first connection is
 * accepted (a client connecting within that instant is judged by the umask's permissions).
 */
export async function bindUnixSocket(server: Server, path: string, mode: number): Promise<UnixSocketFile> {
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  await clearStale(path);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ path, backlog: 511 }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  await chmod(path, mode);
  const st = await lstat(path);
  return { path, dev: st.dev, ino: st.ino };
}

/** Removes the socket file at stop, unless another server has replaced it meanwhile. */
export async function removeUnixSocket(f: UnixSocketFile): Promise<void> {
  try {
    const st = await lstat(f.path);
    if (st.isSocket() && st.dev === f.dev && st.ino === f.ino) await unlink(f.path);
  } catch (e) {
    // Node (libuv) may have removed it when the server closed.
    if (code(e) !== "ENOENT") throw e;
  }
}
