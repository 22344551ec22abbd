// Modseqs after an unclean stop. Flag changes are answered once committed, before they are on
// disk (TransactionOptions.waitDurable false: an IMAP STORE, the \Seen of a FETCH; Dovecot does
// not fsync flag changes either), so a power failure may take back the last commits, whose
// modseqs clients were already told (FETCH MODSEQ, HIGHESTMODSEQ). A modseq names one state
// of the mailbox (RFC 7162 §3.1); handing a lost one out again for another change would hide
// that change from every client that saw the lost one (CHANGEDSINCE, QRESYNC).
//
// So a server marks the store in `meta` while it runs (durably, before its first answer) and
// clears the mark at a clean close (durably, after every earlier commit is on disk). A server
// that finds the mark of one that did not close skips every account's modseq ahead by more
// than the commits that can have been lost (the SQLite driver makes a transaction wait for
// its sync past MAX_UNSYNCED_COMMITS), and raises every mailbox's HIGHESTMODSEQ with it, so
// none is below a value a client may hold. The CLI and the session processes (children of a
// running server) leave the mark alone. Only where the driver answersBeforeSync.
import type { SqlDriver } from "./sql.ts";

/** How far modseqs skip ahead after an unclean stop: far more than the commits it may lose. */
export const MODSEQ_GAP = 1_000_000;

const MARK_KEY = "server.running";

/**
 * At a server's start: skips modseqs ahead if the last server did not stop cleanly, and sets
 * the mark. Returns whether it skipped.
 */
export async function markServerRunning(driver: SqlDriver): Promise<boolean> {
  if (driver.answersBeforeSync !== true) return false;
  return driver.transaction(async (tx) => {
    const row = await tx.get<{ value: string }>("SELECT value FROM meta WHERE key = ?", [MARK_KEY]);
    const unclean = row?.value === "1";
    if (unclean) {
      await tx.run("UPDATE accounts SET modseq = modseq + ?", [MODSEQ_GAP]);
      await tx.run(
        `UPDATE mailboxes SET highest_modseq =
           (SELECT a.modseq FROM accounts a WHERE a.num = mailboxes.account_num)`,
      );
    }
    await tx.run(
      "INSERT INTO meta (key, value) VALUES (?, '1') ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      [MARK_KEY],
    );
    return unclean;
  });
}

/** At a server's clean close, once nothing writes any more: clears the mark. */
export async function markServerStopped(driver: SqlDriver): Promise<void> {
  if (driver.answersBeforeSync !== true) return;
  await driver.transaction(async (tx) => {
    await tx.run("UPDATE meta SET value = '0' WHERE key = ?", [MARK_KEY]);
  });
}
