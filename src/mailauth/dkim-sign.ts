// DKIM signing of the mail we send: every message from a local domain gets two signatures
// side by side, rsa-sha256 (RFC 6376) and ed25519-sha256 (RFC 8463 §4), with the domain's
// newest keys (src/mailauth/dkim-keys.ts), relaxed/relaxed canonicalization (RFC 6376 §3.4.2,
// §3.4.4: survives the re-folding and whitespace changes of relays).
//
// Wraps the `mailauth` package: its DkimSigner (the class its public dkimSign() runs) parses
// the message and does the canonicalization, hashing and signing. The wrapper adds one thing
// mailauth lacks, oversigning of From (RFC 6376 §5.4.2, §8.15): mailauth names in h= only the
// fields the message has, so the subclass below lists From once more than present; a verifier
// hashes that extra instance as the null string (§5.4.2), and a From field added on the way
// then breaks the signatures instead of being shown to the reader unsigned.
import { DkimSigner, type ParsedHeaderLine } from "mailauth/lib/dkim/dkim-signer.js";
import { writeToStream } from "mailauth/lib/tools.js";
import type { Clock } from "../core/clock.ts";
import type { Logger } from "../core/logger.ts";
import { parseAddressList } from "../mail/address.ts";
import { findHeaderEnd, getHeaders, splitHeaderFields } from "../mail/headers.ts";
import type { MailStore } from "../store/types.ts";
import type { DkimKeyPair, DkimKeyStore } from "./dkim-keys.ts";

/**
 * RFC 6376 §5.4.1: the fields that carry the message's meaning (From is required), and the
 * MIME fields that decide how the body is read. Trace fields (Received, Return-Path) are left
 * out: relays add to them.
 */
export const SIGNED_HEADERS = [
  "From",
  "Sender",
  "Reply-To",
  "Subject",
  "Date",
  "Message-ID",
  "To",
  "Cc",
  "In-Reply-To",
  "References",
  "MIME-Version",
  "Content-Type",
  "Content-Transfer-Encoding",
  "Content-ID",
  "Content-Description",
  "Resent-Date",
  "Resent-From",
  "Resent-Sender",
  "Resent-To",
  "Resent-Cc",
  "Resent-Message-ID",
  "List-Id",
  "List-Help",
  "List-Unsubscribe",
  "List-Unsubscribe-Post",
  "List-Subscribe",
  "List-Post",
  "List-Owner",
  "List-Archive",
  "Autocrypt",
];

/** mailauth's signer, with From oversigned (see the top of this file). */
class OversigningSigner extends DkimSigner {
  override async messageHeaders(headers: { parsed: ParsedHeaderLine[] }): Promise<void> {
    // h= is built bottom-up from each signed field's name as written, joined with ": ". The
    // topmost From is the last From named; naming it twice puts the extra "From" after every
    // real one, where a verifier finds no instance left (RFC 6376 §5.4.2).
    const top = headers.parsed.find((h) => h.key === "from");
    if (top !== undefined) top.casedKey = `${top.casedKey}: From`;
    await super.messageHeaders(headers);
  }
}

export interface SignResult {
  /** The DKIM-Signature fields to put on top of the message, CRLF-ended ("" when none). */
  headers: string;
  errors: string[];
}

/** Signs with both keys of a generation; the message itself is not changed. */
export async function signWithKeys(
  message: Buffer,
  pair: DkimKeyPair,
  opts: { signTime?: Date } = {},
): Promise<SignResult> {
  const signer = new OversigningSigner({
    canonicalization: "relaxed/relaxed",
    headerList: SIGNED_HEADERS,
    ...(opts.signTime !== undefined ? { signTime: opts.signTime } : {}),
    strict: true,
    signatureData: [pair.rsa, pair.ed25519].map((k) => ({
      signingDomain: pair.domain,
      selector: k.selector,
      privateKey: k.privateKey,
      algorithm: k.algorithm,
    })),
  });
  await writeToStream(signer, message);
  return {
    headers: signer.signatureHeaders.map((h) => `${h}\r\n`).join(""),
    errors: signer.errors.map((e) => `${e.selector ?? ""}: ${e.err.message}`),
  };
}

/** The domains of the From field (RFC 5322 §3.6.2), lower-cased; [] when it has none. */
export function authorDomains(message: Buffer): string[] {
  const end = findHeaderEnd(message, 0, message.length);
  const from = getHeaders(splitHeaderFields(message, 0, end), "From");
  const out = new Set<string>();
  for (const value of from) {
    for (const a of parseAddressList(value)) {
      const at = a.address.lastIndexOf("@");
      if (at > 0) out.add(a.address.slice(at + 1).toLowerCase());
    }
  }
  return [...out];
}

const CACHE_MS = 60_000;

/**
 * Signs outgoing mail with the keys of the store: finds the local domain that signs for a
 * message, makes its keys on first need and keeps them a minute (a rotation on another node
 * takes effect within it; the old key stays published meanwhile).
 */
export class OutboundSigner {
  readonly #store: MailStore;
  readonly #keys: DkimKeyStore;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #pairs = new Map<string, { pair: DkimKeyPair; until: number }>();
  readonly #local = new Map<string, { local: boolean; until: number }>();

  constructor(opts: { store: MailStore; keys: DkimKeyStore; clock: Clock; logger: Logger }) {
    this.#store = opts.store;
    this.#keys = opts.keys;
    this.#clock = opts.clock;
    this.#log = opts.logger;
  }

  async #isLocal(domain: string): Promise<boolean> {
    const now = this.#clock.now();
    const hit = this.#local.get(domain);
    if (hit !== undefined && hit.until > now) return hit.local;
    const local = (await this.#store.getDomain(domain)) !== null;
    if (this.#local.size > 10_000) this.#local.clear();
    this.#local.set(domain, { local, until: now + CACHE_MS });
    return local;
  }

  /**
   * The local domain whose keys sign for `domain`: itself, or the nearest parent that is local
   * (mail from mx.example.org signed by example.org aligns under relaxed DMARC alignment,
   * RFC 7489 §3.1.1); null when none is ours.
   */
  async signingDomain(domain: string): Promise<string | null> {
    const labels = domain.toLowerCase().replace(/\.$/, "").split(".");
    for (let i = 0; i < labels.length - 1; i++) {
      const d = labels.slice(i).join(".");
      if (await this.#isLocal(d)) return d;
    }
    return null;
  }

  /** The signing keys of a local domain, made on first need. */
  async keysFor(domain: string): Promise<DkimKeyPair> {
    const now = this.#clock.now();
    const hit = this.#pairs.get(domain);
    if (hit !== undefined && hit.until > now) return hit.pair;
    const pair = await this.#keys.ensure(domain);
    this.#pairs.set(domain, { pair, until: now + CACHE_MS });
    return pair;
  }

  /**
   * The message with its DKIM signatures on top, signed by the local domain of its author
   * (From), else of the first of `fallback` (the envelope sender's, the account's) that is
   * ours; unchanged when none is, or when it cannot be signed (no single From domain).
   */
  async sign(message: Buffer, fallback: readonly string[] = []): Promise<Buffer> {
    const authors = authorDomains(message);
    // RFC 6376 §5.4 needs one From; several author domains (RFC 5322 allows a list) are
    // signed for the first that is ours.
    if (authors.length === 0) return message;
    let domain: string | null = null;
    for (const d of [...authors, ...fallback]) {
      domain = await this.signingDomain(d);
      if (domain !== null) break;
    }
    if (domain === null) return message;
    const pair = await this.keysFor(domain);
    const r = await signWithKeys(message, pair, { signTime: new Date(this.#clock.now()) });
    if (r.errors.length > 0) this.#log.warn({ domain, errors: r.errors }, "DKIM signing failed");
    if (r.headers === "") return message;
    return Buffer.concat([Buffer.from(r.headers, "latin1"), message]);
  }
}
