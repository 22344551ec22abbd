// Writes shared by both index implementations: the header-field rows and batched deletes.
import type { SqlExecutor, SqlValue } from "../sql.ts";
import type { IndexedHeader } from "./text.ts";

// Rows per multi-row INSERT / ids per DELETE: well under both databases' parameter limits.
const BATCH = 200;

export async function insertHeaderRows(
  tx: SqlExecutor,
  accountNum: number,
  emailNum: number,
  fields: readonly IndexedHeader[],
): Promise<void> {
  for (let i = 0; i < fields.length; i += BATCH) {
    const chunk = fields.slice(i, i + BATCH);
    const params: SqlValue[] = [];
    for (const f of chunk) params.push(accountNum, emailNum, f.name, f.value);
    await tx.run(
      `INSERT INTO search_headers (account_num, email_num, name, value) VALUES ${chunk.map(() => "(?, ?, ?, ?)").join(", ")}`,
      params,
    );
  }
}

/** DELETE FROM table WHERE column IN (...), in batches. `table` and `column` are fixed names. */
export async function removeRows(
  tx: SqlExecutor,
  table: string,
  column: string,
  nums: readonly number[],
): Promise<void> {
  for (let i = 0; i < nums.length; i += BATCH) {
    const chunk = nums.slice(i, i + BATCH);
    await tx.run(`DELETE FROM ${table} WHERE ${column} IN (${chunk.map(() => "?").join(", ")})`, chunk);
  }
}

export async function copyHeaderRows(
  tx: SqlExecutor,
  accountNum: number,
  fromEmailNum: number,
  toEmailNum: number,
): Promise<void> {
  await tx.run(
    `INSERT INTO search_headers (account_num, email_num, name, value)
     SELECT ?, ?, name, value FROM search_headers WHERE email_num = ?`,
    [accountNum, toEmailNum, fromEmailNum],
  );
}
