// Blobs as files under a directory: <dir>/<first two hex chars>/<sha-256 hex>.
// Durability before the 250/OK: the bytes go to a temporary file that is fsynced, renamed
// into place, and the directory holding it fsynced, so a blob that put() returned survives
// a crash (POSIX rename is atomic; the directory fsync makes the new name durable).
import { createHash, randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { mkdir, open, readFile, readdir, rename, stat, unlink, utimes } from "node:fs/promises";
import { join } from "node:path";
import type { BlobStore } from "../types.ts";

const HEX64 = /^[0-9a-f]{64}$/;

function isNotFound(e: unknown): boolean {
  return (e as NodeJS.ErrnoException | null)?.code === "ENOENT";
}

async function fsyncDir(path: string): Promise<void> {
  const fh = await open(path, constants.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export interface ListableBlobStore extends BlobStore {
  /** Every stored blob id (for garbage collection). */
  list(): AsyncIterable<string>;
  /** Milliseconds since the epoch of the last put() of the blob, or null if absent. */
  touchedAt(id: string): Promise<number | null>;
}

export class FsBlobStore implements ListableBlobStore {
  readonly dir: string;
  readonly #made = new Set<string>();

  constructor(dir: string) {
    this.dir = dir;
  }

  #path(id: string): string {
    if (!HEX64.test(id)) throw new Error(`bad blob id ${id}`);
    return join(this.dir, id.slice(0, 2), id);
  }

  async #ensureDir(sub: string): Promise<void> {
    if (this.#made.has(sub)) return;
    const path = join(this.dir, sub);
    const made = await mkdir(path, { recursive: true });
    // A new directory's own name must be durable too.
    if (made !== undefined) await fsyncDir(this.dir);
    this.#made.add(sub);
  }

  async put(data: Buffer): Promise<string> {
    const id = createHash("sha256").update(data).digest("hex");
    const path = this.#path(id);
    try {
      // Present already: refresh its time so a concurrent collectGarbage() grace period spares it.
      const now = new Date();
      await utimes(path, now, now);
      return id;
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    await this.#ensureDir("tmp");
    await this.#ensureDir(id.slice(0, 2));
    const tmp = join(this.dir, "tmp", `${id}.${randomBytes(6).toString("hex")}`);
    const fh = await open(tmp, "wx", 0o600);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await rename(tmp, path);
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
    await fsyncDir(join(this.dir, id.slice(0, 2)));
    return id;
  }

  async get(id: string): Promise<Buffer | null> {
    if (!HEX64.test(id)) return null;
    try {
      return await readFile(this.#path(id));
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }

  async has(id: string): Promise<boolean> {
    return (await this.touchedAt(id)) !== null;
  }

  async touchedAt(id: string): Promise<number | null> {
    if (!HEX64.test(id)) return null;
    try {
      return (await stat(this.#path(id))).mtimeMs;
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }

  async delete(id: string): Promise<void> {
    try {
      await unlink(this.#path(id));
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  /** Removes temporary files older than `before` (ms since the epoch) left by a crash mid-put. */
  async sweepTemp(before: number): Promise<number> {
    let names: string[];
    try {
      names = await readdir(join(this.dir, "tmp"));
    } catch (e) {
      if (isNotFound(e)) return 0;
      throw e;
    }
    let n = 0;
    for (const name of names) {
      const path = join(this.dir, "tmp", name);
      try {
        if ((await stat(path)).mtimeMs < before) {
          await unlink(path);
          n++;
        }
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    return n;
  }

  async *list(): AsyncIterable<string> {
    let subs: string[];
    try {
      subs = await readdir(this.dir);
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    for (const sub of subs.sort()) {
      if (!/^[0-9a-f]{2}$/.test(sub)) continue;
      for (const name of (await readdir(join(this.dir, sub))).sort()) {
        if (HEX64.test(name) && name.startsWith(sub)) yield name;
      }
    }
  }
}

export async function openFsBlobStore(dir: string): Promise<FsBlobStore> {
  await mkdir(dir, { recursive: true });
  return new FsBlobStore(dir);
}
