// RFC 9051 §6.4.4: SEARCH BODY and TEXT match anywhere in the message's body text. The search
// index holds an email's text up to its caps (search/text.ts MAX_BODY_CHARS, the parse's
// PARSE_LIMITS); emails whose text is longer are marked text_capped when stored. For those, a
// search with BODY or TEXT criteria scans the stored message: each such criterion becomes "the
// index matches, or the email is one of the marked ones whose whole text holds the string", so
// NOT and OR around it stay exact. Nothing is scanned when the account has no marked email,
// which is one look-up in a partial index holding the marked emails alone.
import { parseMessage } from "../mail/parse.ts";
import { chunks, marks, type StoreContext } from "./context.ts";
import { fold } from "./search/text.ts";
import type { SqlExecutor } from "./sql.ts";
import type { Id, SearchQuery } from "./types.ts";

/** Characters of text folded at a time: a long text is never folded (copied) whole. */
const SCAN_CHUNK = 1 << 20;

/** The strings of the query's BODY and TEXT criteria (none empty: those match every email). */
function bodyStrings(q: SearchQuery, out = new Set<string>()): Set<string> {
  if ((q.op === "body" || q.op === "text") && q.text !== "") out.add(q.text);
  else if (q.op === "and" || q.op === "or") for (const t of q.terms) bodyStrings(t, out);
  else if (q.op === "not") bodyStrings(q.term, out);
  return out;
}

/**
 * Whether `text`, folded as the index folds (search/text.ts fold), holds `needle` (folded).
 * Chunks overlap by more than a match can span: the fold changes lengths by a few code units
 * at most (NFKC compositions and expansions).
 */
export function holdsFolded(text: string, needle: string): boolean {
  if (needle === "") return true;
  const overlap = 4 * needle.length + 64;
  for (let at = 0; at < text.length; at += SCAN_CHUNK) {
    if (fold(text.slice(Math.max(0, at - overlap), at + SCAN_CHUNK)).includes(needle)) return true;
  }
  return false;
}

function rewrite(q: SearchQuery, found: ReadonlyMap<string, Id[]>): SearchQuery {
  switch (q.op) {
    case "body":
    case "text": {
      const ids = found.get(q.text);
      return ids && ids.length > 0 ? { op: "or", terms: [q, { op: "emailIds", ids }] } : q;
    }
    case "and":
    case "or":
      return { ...q, terms: q.terms.map((t) => rewrite(t, found)) };
    case "not":
      return { ...q, term: rewrite(q.term, found) };
    default:
      return q;
  }
}

/**
 * `query` with its BODY and TEXT criteria extended to the whole text of the account's
 * text_capped emails (those of mailbox `mailboxNum` when given); `query` itself when there
 * is none of either.
 */
export async function withCappedTexts(
  ctx: StoreContext,
  db: SqlExecutor,
  accountNum: number,
  mailboxNum: number | undefined,
  query: SearchQuery,
): Promise<SearchQuery> {
  const strings = bodyStrings(query);
  if (strings.size === 0) return query;
  // The account's marked emails first (the partial index), those of the mailbox among them
  // next: joined in one statement, the planner would walk the mailbox's memberships.
  let rows = await db.all<{ num: number; id: Id; blob_id: string }>(
    "SELECT num, id, blob_id FROM emails WHERE account_num = ? AND text_capped = 1",
    [accountNum],
  );
  if (rows.length > 0 && mailboxNum !== undefined) {
    const inBox = new Set<number>();
    for (const part of chunks(rows.map((r) => r.num))) {
      const found = await db.all<{ email_num: number }>(
        `SELECT email_num FROM memberships WHERE mailbox_num = ? AND email_num IN (${marks(part.length)})`,
        [mailboxNum, ...part],
      );
      for (const f of found) inBox.add(Number(f.email_num));
    }
    rows = rows.filter((r) => inBox.has(Number(r.num)));
  }
  if (rows.length === 0) return query;
  const needles = [...strings].map((s) => [s, fold(s)] as const);
  const found = new Map<string, Id[]>();
  for (const r of rows) {
    const raw = await ctx.blobs.get(r.blob_id);
    if (raw === null) continue;
    const text = parseMessage(raw, { fullText: true }).text;
    for (const [s, needle] of needles) {
      if (!holdsFolded(text, needle)) continue;
      const ids = found.get(s);
      if (ids) ids.push(r.id);
      else found.set(s, [r.id]);
    }
  }
  return found.size === 0 ? query : rewrite(query, found);
}
