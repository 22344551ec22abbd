// Keyword (flag) sets as the store keeps them: IMAP spelling ("\\Seen", "$Forwarded"),
// sorted, unique. RFC 9051 §2.3.2: system flags and keywords match case-insensitively; the
// system flags are stored in their canonical case, other keywords as first written.
import { StoreError } from "../core/errors.ts";
import type { KeywordChange } from "./types.ts";

export const SEEN = "\\Seen";

const SYSTEM_FLAGS = ["\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"];
const SYSTEM_BY_LOWER = new Map(SYSTEM_FLAGS.map((f) => [f.toLowerCase(), f]));

// RFC 9051 §9 flag-keyword = atom: no atom-specials (( ) { SP CTL % * " \ ]).
const ATOM = /^[^\s(){%*"\\\]\x00-\x1f\x7f]+$/;

function canonical(k: string): string {
  if (k.startsWith("\\")) {
    const sys = SYSTEM_BY_LOWER.get(k.toLowerCase());
    // \Recent is session state (RFC 3501 §2.3.2), never stored; other \X are not flags.
    if (!sys) throw new StoreError("INVALID", `not a storable system flag: ${k}`);
    return sys;
  }
  if (k.length === 0 || k.length > 255 || !ATOM.test(k))
    throw new StoreError("INVALID", `bad keyword: ${JSON.stringify(k)}`);
  return k;
}

function sortUnique(list: Iterable<string>): string[] {
  const byLower = new Map<string, string>();
  for (const k of list) {
    const c = canonical(k);
    const key = c.toLowerCase();
    if (!byLower.has(key)) byLower.set(key, c);
  }
  return [...byLower.values()].sort();
}

export function normalizeKeywords(list: readonly string[]): string[] {
  return sortUnique(list);
}

/** The keyword set after `change`; `current` is already normalized. */
export function applyKeywordChange(current: readonly string[], change: KeywordChange): string[] {
  let next: string[] = change.set ? sortUnique(change.set) : [...current];
  if (change.add?.length) next = sortUnique([...next, ...change.add]);
  if (change.remove?.length) {
    const drop = new Set(change.remove.map((k) => canonical(k).toLowerCase()));
    next = next.filter((k) => !drop.has(k.toLowerCase()));
  }
  return next;
}

export function sameKeywords(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((k, i) => k === b[i]);
}

const EMPTY: string[] = [];

/** Parses the stored JSON array (fast path for the common empty and \Seen-only sets). */
export function parseKeywords(json: string): string[] {
  if (json === "[]") return EMPTY.slice();
  if (json === '["\\\\Seen"]') return [SEEN];
  return JSON.parse(json) as string[];
}

export function hasSeen(json: string): boolean {
  return json.includes('"\\\\Seen"');
}
