// RFC 9051 §6.4.5 FETCH and §6.4.9 UID FETCH, served from the stored metadata: FLAGS, UID,
// INTERNALDATE, RFC822.SIZE, ENVELOPE, BODY/BODYSTRUCTURE, BODY[section]<partial> and
// BODY.PEEK (byte offsets of the parts, src/mail/), BINARY[part]/BINARY.SIZE (RFC 3516 §4.2),
// MODSEQ and CHANGEDSINCE/VANISHED (RFC 7162 §3.1.4, §3.2.6), EMAILID/THREADID (RFC 8474 §5),
// SAVEDATE (RFC 8514 §4.1), PREVIEW (RFC 8970 §3). A non-PEEK body fetch sets \Seen (RFC 9051
// §6.4.5) and reports the new FLAGS. RFC 9051 §7.5.1: no EXPUNGE during FETCH (non-UID).
import type { Envelope, MimePart, ParsedMessage } from "../../../../mail/types.ts";
import { findSection, decodePartBody } from "../../../../mail/parse.ts";
import { selectHeaderFields } from "../../../../mail/header-fields.ts";
import type { MessageRow } from "../../../../store/types.ts";
import type { FetchArgs, FetchDatum, FetchItem, FetchPartial, Section } from "../../wire/index.ts";
import {
  fetchBinary,
  fetchBinarySize,
  fetchBodySection,
  fetchBodyStructure,
  fetchDate,
  fetchEnvelopeText,
  fetchFlags,
  fetchModseq,
  fetchNumber,
  fetchObjectId,
  fetchPreview,
  fetchResponse,
  fetchRfc822,
  vanishedResponse,
} from "../../wire/index.ts";
import { command, SELECTED } from "../command.ts";
import type { AnyCommand } from "../command.ts";
import { bad, no } from "../errors.ts";
import type { ImapSession } from "../session.ts";
import { vanishedSince } from "../vanished.ts";

type Parsed = Omit<ParsedMessage, "text">;
const BATCH = 100;

function slice(data: Buffer, partial: FetchPartial | null): Buffer {
  if (partial === null) return data;
  if (partial.offset >= data.length) return Buffer.alloc(0);
  const end = partial.length === null ? data.length : Math.min(data.length, partial.offset + partial.length);
  return data.subarray(partial.offset, end);
}

/** RFC 9051 §6.4.5 section spec to bytes, from the part offsets; null when there is no such part. */
function sectionBytes(raw: Buffer, root: MimePart, section: Section): Buffer | null {
  let part: MimePart | null = root;
  if (section.part.length > 0) part = findSection(root, section.part.join("."));
  if (part === null) return null;
  if (section.text === null)
    return section.part.length === 0 ? raw : raw.subarray(part.bodyStart, part.bodyEnd);
  if (section.text === "MIME") {
    if (section.part.length === 0) return null;
    return raw.subarray(part.headerStart, part.headerEnd);
  }
  // HEADER, HEADER.FIELDS(.NOT), TEXT: of the message, or of an encapsulated message/rfc822
  let msg: MimePart = part;
  if (section.part.length > 0) {
    if (part.message === undefined) return null;
    msg = part.message;
  }
  switch (section.text) {
    case "HEADER":
      return raw.subarray(msg.headerStart, msg.headerEnd);
    case "HEADER.FIELDS":
      return selectHeaderFields(raw, msg.headerStart, msg.headerEnd, section.fields);
    case "HEADER.FIELDS.NOT":
      return selectHeaderFields(raw, msg.headerStart, msg.headerEnd, section.fields, true);
    case "TEXT":
      return raw.subarray(msg.bodyStart, msg.bodyEnd);
  }
}

/**
 * RFC 3516 §4.2 BINARY[part]: the decoded content of a leaf part (the raw message for []). A
 * section text (accepted as Dovecot does) gives BODY[section]'s bytes: headers and the text of
 * a message are not transfer-encoded themselves.
 */
function binaryBytes(raw: Buffer, root: MimePart, section: Section): Buffer | null {
  if (section.text !== null) return sectionBytes(raw, root, section);
  const part = section.part;
  if (part.length === 0) return raw;
  const p = findSection(root, part.join("."));
  if (p === null) return null;
  if (p.parts !== undefined) return raw.subarray(p.bodyStart, p.bodyEnd);
  const enc = p.encoding.toLowerCase();
  // RFC 3516 §4.3: an encoding we cannot decode is [UNKNOWN-CTE]
  if (!["7bit", "8bit", "binary", "base64", "quoted-printable"].includes(enc))
    throw no("UNKNOWN-CTE", `Unknown Content-Transfer-Encoding ${enc}`);
  return decodePartBody(raw, p);
}

function needs(items: readonly FetchItem[]): {
  raw: boolean;
  parsed: boolean;
  envelope: boolean;
  seen: boolean;
} {
  const n = { raw: false, parsed: false, envelope: false, seen: false };
  for (const it of items) {
    if (it.kind === "body") {
      n.raw = true;
      if (it.section.part.length > 0 || it.section.text !== null) n.parsed = true;
      if (!it.peek) n.seen = true;
    } else if (it.kind === "binary" || it.kind === "binary.size") {
      n.raw = true;
      n.parsed = true;
      if (it.kind === "binary" && !it.peek) n.seen = true;
    } else if (it.kind === "preview") n.parsed = true;
    else if (it.name === "ENVELOPE") n.envelope = true;
    else if (it.name === "BODY" || it.name === "BODYSTRUCTURE") n.parsed = true;
    else if (it.name === "RFC822" || it.name === "RFC822.TEXT" || it.name === "RFC822.HEADER") {
      n.raw = true;
      if (it.name !== "RFC822.HEADER") n.seen = true;
      if (it.name !== "RFC822") n.parsed = true;
    }
  }
  return n;
}

/** Bytes of raw messages read at once: the blobs of a batch load in parallel up to this. */
const PARALLEL_BYTES = 8 * 1024 * 1024;

/** The raw messages of a batch, read concurrently in groups of bounded size. */
async function readRaws(s: ImapSession, rows: readonly MessageRow[]): Promise<Map<string, Buffer | null>> {
  const out = new Map<string, Buffer | null>();
  let group: MessageRow[] = [];
  let bytes = 0;
  const flush = async (): Promise<void> => {
    const got = await Promise.all(group.map((r) => s.ctx.store.getRaw(s.accountId, r.emailId)));
    group.forEach((r, i) => out.set(r.emailId, got[i] ?? null));
    group = [];
    bytes = 0;
  };
  for (const r of rows) {
    if (group.length > 0 && bytes + r.size > PARALLEL_BYTES) await flush();
    group.push(r);
    bytes += r.size;
  }
  if (group.length > 0) await flush();
  return out;
}

/**
 * The ENVELOPE wire text of each message of `rows`, by email id: from the server's cache, the
 * missing ones read in one listing of the mailbox's tail when they are most of it (FETCH 1:*,
 * the newest n), else by id.
 */
async function envelopeTexts(s: ImapSession, rows: readonly MessageRow[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const view = s.selected;
  if (view === null) return out;
  const cache = s.shared.envelopes;
  const utf8 = s.utf8;
  const missing: MessageRow[] = [];
  for (const r of rows) {
    const text = cache.get(r.emailId, utf8);
    if (text === undefined) missing.push(r);
    else out.set(r.emailId, text);
  }
  if (missing.length === 0) return out;
  let min = missing[0]?.uid ?? 0;
  for (const r of missing) if (r.uid < min) min = r.uid;
  const from = view.seqOf(min);
  const wanted = new Set(missing.map((r) => r.emailId));
  const found: Iterable<[string, Envelope]> =
    from > 0 && view.exists - from + 1 <= 2 * missing.length + 50
      ? (await s.ctx.store.listMessages(s.accountId, view.mailbox.id, { fromUid: min, withEnvelope: true }))
          .filter((r) => r.envelope !== undefined && wanted.has(r.emailId))
          .map((r): [string, Envelope] => [r.emailId, r.envelope as Envelope])
      : await s.ctx.store.getEnvelopes(s.accountId, [...wanted]);
  for (const [id, env] of found) out.set(id, cache.put(id, utf8, env));
  return out;
}

/** Sets \Seen on the messages of `rows` without it (RFC 9051 §6.4.5); the ids it set. */
async function markSeen(s: ImapSession, rows: readonly MessageRow[]): Promise<Set<string>> {
  const view = s.selected;
  const unseen = rows.filter((r) => !r.keywords.includes("\\Seen")).map((r) => r.emailId);
  if (view === null || unseen.length === 0) return new Set();
  // The implicit \Seen is answered once committed, not once on disk (store.setKeywords
  // waitDurable): nobody asked for it to be stored, and a crash may lose it (as Dovecot's
  // flag changes). Other sessions hear of it when it is durable. STORE still waits: a
  // client's explicit change is visible to its other connections when STORE answers.
  const res = await s.ctx.store.setKeywords(s.accountId, unseen, { add: ["\\Seen"] }, { waitDurable: false });
  const done = new Set(res.updated);
  for (const r of rows) {
    if (!done.has(r.emailId)) continue;
    view.rows.set(r.uid, { ...r, keywords: [...r.keywords, "\\Seen"].sort(), modseq: res.modseq });
  }
  // this session took the change in: its event needs no poll
  if (done.size > 0) view.absorb(res.modseq);
  return done;
}

async function runFetch(s: ImapSession, args: FetchArgs): Promise<void> {
  const view = s.selected;
  if (view === null) throw bad("No mailbox selected");
  const store = s.ctx.store;
  let uids = view.resolve(args.set, args.uid);
  if (args.vanished && (!args.uid || !s.qresync || args.changedSince === null))
    throw bad("VANISHED needs UID FETCH, QRESYNC and CHANGEDSINCE");
  if (args.changedSince !== null) {
    await s.enableCondstore();
    const since = args.changedSince;
    uids = uids.filter((u) => (view.rows.get(u)?.modseq ?? 0) > since);
    if (args.vanished && args.set.kind === "ranges") {
      // RFC 7162 §3.2.6: the expunged UIDs of the set since the modseq; when the store no
      // longer knows them, the UIDs of the set that do not exist (vanished.ts)
      const hit = await vanishedSince(store, s.accountId, view.mailbox, since, args.set, view.uids);
      if (hit.length > 0) s.send(vanishedResponse(hit, true));
    }
  }
  const items = args.items;
  const need = needs(items);
  const wantsModseq =
    args.changedSince !== null || items.some((i) => i.kind === "simple" && i.name === "MODSEQ");
  if (wantsModseq) await s.enableCondstore();
  const hasFlags = items.some((i) => i.kind === "simple" && i.name === "FLAGS");
  const hasUid = items.some((i) => i.kind === "simple" && i.name === "UID");
  const hasModseq = items.some((i) => i.kind === "simple" && i.name === "MODSEQ");
  const envelopes = need.envelope
    ? await envelopeTexts(
        s,
        uids.map((u) => view.rows.get(u)).filter((r): r is MessageRow => r !== undefined),
      )
    : new Map<string, string>();
  for (let i = 0; i < uids.length; i += BATCH) {
    const batch = uids.slice(i, i + BATCH).filter((u) => view.rows.has(u));
    const rows = batch.map((u) => view.rows.get(u)).filter((r): r is MessageRow => r !== undefined);
    const ids = rows.map((r) => r.emailId);
    // The messages are read first, then \Seen is set (markSeen does not wait for the disk):
    // reads made while a transaction is open go to the reader connection, whose cache every
    // commit empties (a BODY[] read 3x slower there than on the writer's between transactions).
    const parsed: Map<string, Parsed> = need.parsed
      ? await store.getParsed(s.accountId, ids)
      : new Map<string, Parsed>();
    const raws = need.raw ? await readRaws(s, rows) : new Map<string, Buffer | null>();
    const seen = need.seen && !view.readOnly ? await markSeen(s, rows) : new Set<string>();
    for (const u of batch) {
      const row = view.rows.get(u);
      const seq = view.seqOf(u);
      if (row === undefined || seq === 0) continue;
      let raw: Buffer | null = null;
      if (need.raw) {
        raw = raws.get(row.emailId) ?? null;
        if (raw === null) continue; // expunged meanwhile (RFC 2180 §4.1.2: omit it)
      }
      const p = parsed.get(row.emailId);
      const out: FetchDatum[] = [];
      const setSeen = seen.has(row.emailId);
      // RFC 9051 §6.4.9: UID FETCH always returns UID; RFC 7162 §3.1: so does a FETCH that set
      // \Seen with CONDSTORE on, with MODSEQ
      const condstoreSeen = setSeen && s.condstore;
      if ((args.uid || condstoreSeen) && !hasUid) out.push(fetchNumber("UID", u));
      for (const it of items)
        out.push(...datum(s, it, row, raw, p, envelopes.get(row.emailId), view.flagsOf(u)));
      if (setSeen && !hasFlags) out.push(fetchFlags(view.flagsOf(u)));
      if ((wantsModseq || condstoreSeen) && !hasModseq) out.push(fetchModseq(row.modseq));
      s.send(fetchResponse(seq, out, s.writeOptions));
    }
    // between batches: wait for room; the last batch goes out with the tagged reply
    if (i + BATCH < uids.length) await s.drain();
  }
}

function datum(
  s: ImapSession,
  it: FetchItem,
  row: MessageRow,
  raw: Buffer | null,
  p: Parsed | undefined,
  env: string | undefined,
  flags: string[],
): FetchDatum[] {
  const opts = s.writeOptions;
  switch (it.kind) {
    case "body": {
      if (raw === null) return [];
      const data =
        p === undefined && (it.section.part.length > 0 || it.section.text !== null)
          ? null
          : sectionBytes(raw, p?.root ?? rootOf(raw), it.section);
      return [fetchBodySection(it.section, it.partial, slice(data ?? Buffer.alloc(0), it.partial))];
    }
    case "binary": {
      if (raw === null || p === undefined) return [];
      const data = binaryBytes(raw, p.root, it.section);
      if (data === null) throw no("NONEXISTENT", "No such part");
      return [fetchBinary(it.section, it.partial, slice(data, it.partial))];
    }
    case "binary.size": {
      if (raw === null || p === undefined) return [];
      const data = binaryBytes(raw, p.root, it.section);
      if (data === null) throw no("NONEXISTENT", "No such part");
      return [fetchBinarySize(it.section, data.length)];
    }
    case "preview":
      return [fetchPreview(p?.preview ?? null)];
    case "simple":
      switch (it.name) {
        case "FLAGS":
          return [fetchFlags(flags)];
        case "UID":
          return [fetchNumber("UID", row.uid)];
        case "INTERNALDATE":
          return [fetchDate("INTERNALDATE", row.receivedAt, row.receivedTz)];
        case "SAVEDATE":
          return [fetchDate("SAVEDATE", row.savedAt)];
        case "RFC822.SIZE":
          return [fetchNumber("RFC822.SIZE", row.size)];
        case "MODSEQ":
          return [fetchModseq(row.modseq)];
        case "EMAILID":
          return [fetchObjectId("EMAILID", row.emailId)];
        case "THREADID":
          return [fetchObjectId("THREADID", row.threadId)];
        case "ENVELOPE":
          return env === undefined ? [] : [fetchEnvelopeText(env)];
        case "BODY":
        case "BODYSTRUCTURE":
          return p === undefined ? [] : [fetchBodyStructure(p.root, it.name === "BODYSTRUCTURE", opts)];
        case "RFC822":
          return raw === null ? [] : [fetchRfc822("RFC822", raw)];
        case "RFC822.HEADER":
          return raw === null || p === undefined
            ? []
            : [fetchRfc822("RFC822.HEADER", raw.subarray(p.root.headerStart, p.root.headerEnd))];
        case "RFC822.TEXT":
          return raw === null || p === undefined
            ? []
            : [fetchRfc822("RFC822.TEXT", raw.subarray(p.root.bodyStart, p.root.bodyEnd))];
      }
  }
  return [];
}

// BODY[] of the whole message needs no parsed structure
function rootOf(raw: Buffer): MimePart {
  return {
    section: "",
    headerStart: 0,
    headerEnd: 0,
    bodyStart: 0,
    bodyEnd: raw.length,
    contentType: { type: "text", subtype: "plain", params: {} },
    encoding: "7bit",
    id: null,
    description: null,
    disposition: null,
    language: null,
    location: null,
    md5: null,
    lines: 0,
  };
}

export const fetch: AnyCommand = command<FetchArgs>({
  name: "FETCH",
  states: SELECTED,
  noExpunge: true,
  handle: (s, args) => runFetch(s, args),
});

export const uidFetch: AnyCommand = command<FetchArgs>({
  name: "UID FETCH",
  states: SELECTED,
  handle: (s, args) => runFetch(s, args),
});
