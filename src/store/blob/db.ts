// Blobs in the `blobs` table, through the driver (for clusters without a shared disk, and
// for tests). Appends write the blob inside their own transaction (putTx), after the quota
// checks, so a refused append leaves no blob row behind.
import { createHash } from "node:crypto";
import type { SqlDriver, SqlExecutor } from "../sql.ts";
import type { TxBlobStore } from "../context.ts";
import type { ListableBlobStore } from "./fs.ts";

export class DbBlobStore implements TxBlobStore, ListableBlobStore {
  readonly #db: SqlDriver;

  constructor(db: SqlDriver) {
    this.#db = db;
  }

  async putTx(tx: SqlExecutor, id: string, data: Buffer): Promise<void> {
    await tx.run("INSERT INTO blobs (id, size, data) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING", [
      id,
      data.length,
      data,
    ]);
  }

  async put(data: Buffer): Promise<string> {
    const id = createHash("sha256").update(data).digest("hex");
    await this.#db.transaction((tx) => this.putTx(tx, id, data));
    return id;
  }

  async get(id: string): Promise<Buffer | null> {
    const row = await this.#db.get<{ data: Buffer }>("SELECT data FROM blobs WHERE id = ?", [id]);
    if (!row) return null;
    // Both drivers give a Buffer of its own already: no copy (POP3 RETR reads one per message).
    return Buffer.isBuffer(row.data) ? row.data : Buffer.from(row.data);
  }

  async has(id: string): Promise<boolean> {
    return !!(await this.#db.get<{ n: number }>("SELECT 1 AS n FROM blobs WHERE id = ?", [id]));
  }

  async touchedAt(id: string): Promise<number | null> {
    // Rows appear only with their committed email: no grace period is needed.
    return (await this.has(id)) ? 0 : null;
  }

  async delete(id: string): Promise<void> {
    await this.#db.run("DELETE FROM blobs WHERE id = ?", [id]);
  }

  async *list(): AsyncIterable<string> {
    let after = "";
    for (;;) {
      const rows = await this.#db.all<{ id: string }>(
        "SELECT id FROM blobs WHERE id > ? ORDER BY id LIMIT 1000",
        [after],
      );
      for (const r of rows) yield r.id;
      const last = rows[rows.length - 1];
      if (!last) return;
      after = last.id;
    }
  }
}
