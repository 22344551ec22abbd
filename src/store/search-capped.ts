// RFC 9051 §6.4.4: SEARCH BODY, TEXT and HEADER (FROM, SUBJECT, ...) match anywhere in the
// message's text. The search index holds an email's text up to its caps (search/text.ts:
// MAX_BODY_CHARS and the header caps, and the parse's PARSE_LIMITS); an email one of them cut
// is marked text_capped when stored. For those, a search with text criteria scans the stored
// message: each such criterion becomes "the index matches, or the email is one of the marked
// ones whose whole text matches", so NOT and OR around it stay exact. Nothing is scanned when
// the account has no marked email, which is one look-up in a partial index holding the marked
// emails alone.
import { parseMessage } from "../mail/parse.ts";
import { chunks, marks, type StoreContext } from "./context.ts";
import { buildSearchDocument } from "./search-index.ts";
import { DEDICATED_FIELDS, fold, prepareDocument, type IndexedDocument } from "./search/text.ts";
import type { SqlExecutor } from "./sql.ts";
import type { Id, SearchQuery } from "./types.ts";

/** Characters of body text folded at a time: a long text is never folded (copied) whole. */
const SCAN_CHUNK = 1 << 20;

type TextCriterion = Extract<SearchQuery, { op: "body" | "text" | "header" }>;

/** The query's text criteria (BODY and TEXT with the empty string match every email). */
function textCriteria(q: SearchQuery, out: TextCriterion[] = []): TextCriterion[] {
  if (q.op === "header" || ((q.op === "body" || q.op === "text") && q.text !== "")) out.push(q);
  else if (q.op === "and" || q.op === "or") for (const t of q.terms) textCriteria(t, out);
  else if (q.op === "not") textCriteria(q.term, out);
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

/** A marked email's whole text: the body as decoded, the headers as the index folds them. */
interface WholeText {
  body: string;
  headers: IndexedDocument;
}

/** What search/compile.ts asks of the index, asked of the whole text. */
function matches(c: TextCriterion, t: WholeText): boolean {
  const needle = fold(c.text);
  if (c.op === "body") return holdsFolded(t.body, needle);
  if (c.op === "text") return t.headers.text.allHeaders.includes(needle) || holdsFolded(t.body, needle);
  const name = c.field.trim().toLowerCase();
  if (DEDICATED_FIELDS.has(name) && needle !== "")
    return t.headers.text[name as "from" | "to" | "cc" | "bcc" | "subject"].includes(needle);
  // RFC 9051 §6.4.4 HEADER: the empty string matches every message that has the field
  return t.headers.fields.some((f) => f.name === name && (needle === "" || f.value.includes(needle)));
}

function rewrite(q: SearchQuery, found: ReadonlyMap<SearchQuery, Id[]>): SearchQuery {
  const ids = found.get(q);
  if (ids !== undefined) return { op: "or", terms: [q, { op: "emailIds", ids }] };
  if (q.op === "and" || q.op === "or") return { ...q, terms: q.terms.map((t) => rewrite(t, found)) };
  if (q.op === "not") return { ...q, term: rewrite(q.term, found) };
  return q;
}

/**
 * `query` with its text criteria extended to the whole text of the account's text_capped
 * emails (those of mailbox `mailboxNum` when given); `query` itself when there is none of
 * either.
 */
export async function withCappedTexts(
  ctx: StoreContext,
  db: SqlExecutor,
  accountNum: number,
  mailboxNum: number | undefined,
  query: SearchQuery,
): Promise<SearchQuery> {
  const criteria = textCriteria(query);
  if (criteria.length === 0) return query;
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
  const found = new Map<SearchQuery, Id[]>();
  for (const r of rows) {
    const raw = await ctx.blobs.get(r.blob_id);
    if (raw === null) continue;
    const parsed = parseMessage(raw, { fullText: true });
    const whole: WholeText = {
      body: parsed.text,
      headers: prepareDocument({ ...buildSearchDocument(parsed), body: "" }, false),
    };
    for (const c of criteria) {
      if (!matches(c, whole)) continue;
      const ids = found.get(c);
      if (ids) ids.push(r.id);
      else found.set(c, [r.id]);
    }
  }
  return found.size === 0 ? query : rewrite(query, found);
}
