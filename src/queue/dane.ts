// DANE for SMTP (RFC 7672, on RFC 6698 and RFC 7671): a domain whose DNS is signed publishes
// TLSA records for its MX hosts; a client that finds them over a validated (secure) answer
// must use TLS and accept only a certificate the records match. node:dns does not expose
// the AD bit of a validating resolver's answer, so the lookups here are our own queries
// (dns-packet over UDP, TCP when truncated) with EDNS0 DO set, trusting the AD bit of the
// configured resolver, which must be a validating one on a trusted path (RFC 7672 §2.1;
// RFC 6698 §4.1: e.g. unbound on the same host).
import { X509Certificate, createHash } from "node:crypto";
import { createSocket } from "node:dgram";
import { connect } from "node:net";
import type { DetailedPeerCertificate } from "node:tls";
import * as packet from "dns-packet";
import type { MxRecord, TlsaRecord } from "../dns/resolver.ts";

/** An answer and whether the resolver validated it (AD bit, RFC 4035 §3.2.3). */
export interface SecureAnswer<T> {
  records: T[];
  secure: boolean;
  /** The name does not exist (NXDOMAIN) or has no record of the type (NODATA). */
  empty: boolean;
}

export interface DnssecResolver {
  mx(domain: string): Promise<SecureAnswer<MxRecord>>;
  tlsa(name: string): Promise<SecureAnswer<TlsaRecord>>;
  /** The host's A records, or its AAAA records when it has no A (RFC 7672 §2.2.2). */
  address(host: string): Promise<SecureAnswer<string>>;
}

/** A lookup that failed in a way that may pass (SERVFAIL, timeout): delivery waits (RFC 7672 §2.1.1). */
export class DnssecLookupError extends Error {
  override readonly name = "DnssecLookupError";
}

const MAX_ANSWER = 65_535;

type QueryType = "MX" | "TLSA" | "A" | "AAAA";

function query(name: string, type: QueryType): Buffer {
  return packet.encode({
    type: "query",
    id: Math.floor(Math.random() * 65_536),
    flags: packet.RECURSION_DESIRED | packet.AUTHENTIC_DATA,
    questions: [{ type, name, class: "IN" }],
    additionals: [
      {
        type: "OPT",
        name: ".",
        udpPayloadSize: 1232,
        extendedRcode: 0,
        ednsVersion: 0,
        flags: packet.DNSSEC_OK,
        flag_do: true,
        options: [],
      },
    ],
  });
}

async function udpExchange(host: string, port: number, q: Buffer, timeoutMs: number): Promise<Buffer> {
  const socket = createSocket(host.includes(":") ? "udp6" : "udp4");
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      const t = setTimeout(() => reject(new DnssecLookupError("DNS query timed out")), timeoutMs);
      socket.on("message", (msg) => {
        // Only the answer to our query (same id) counts.
        if (msg.length >= 2 && msg.readUInt16BE(0) === q.readUInt16BE(0)) {
          clearTimeout(t);
          resolve(msg);
        }
      });
      socket.on("error", (e) => {
        clearTimeout(t);
        reject(new DnssecLookupError(e.message));
      });
      socket.send(q, port, host);
    });
  } finally {
    socket.close();
  }
}

async function tcpExchange(host: string, port: number, q: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const s = connect({ host, port });
    const chunks: Buffer[] = [];
    let size = 0;
    const fail = (e: Error): void => {
      s.destroy();
      reject(new DnssecLookupError(e.message));
    };
    s.setTimeout(timeoutMs, () => fail(new Error("DNS query over TCP timed out")));
    s.on("connect", () => s.write(Buffer.concat([Buffer.from([q.length >> 8, q.length & 0xff]), q])));
    s.on("data", (c: Buffer) => {
      chunks.push(c);
      size += c.length;
      const all = Buffer.concat(chunks);
      if (all.length >= 2 && all.length >= 2 + all.readUInt16BE(0)) {
        s.end();
        resolve(all.subarray(2, 2 + all.readUInt16BE(0)));
      } else if (size > MAX_ANSWER + 2) fail(new Error("DNS answer too long"));
    });
    s.on("error", fail);
  });
}

/** A DNSSEC-aware resolver asking `server` ("host:port" or "host", port 53). */
export function dnssecResolver(server: string, opts: { timeoutMs?: number } = {}): DnssecResolver {
  const m = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(server);
  const host = m?.[1] ?? "127.0.0.1";
  const port = m?.[2] !== undefined ? Number(m[2]) : 53;
  const timeoutMs = opts.timeoutMs ?? 5000;
  async function ask<T>(
    name: string,
    type: QueryType,
    map: (a: packet.Answer) => T | null,
  ): Promise<SecureAnswer<T>> {
    const q = query(name, type);
    let res = packet.decode(await udpExchange(host, port, q, timeoutMs));
    if (res.flag_tc) res = packet.decode(await tcpExchange(host, port, q, timeoutMs));
    const rcode = (res.flags ?? 0) & 0xf;
    if (rcode !== 0 && rcode !== 3) throw new DnssecLookupError(`${type} ${name}: rcode ${rcode}`);
    const records = (res.answers ?? []).map(map).filter((x): x is T => x !== null);
    return { records, secure: res.flag_ad, empty: records.length === 0 };
  }
  return {
    mx: (domain) =>
      ask(domain, "MX", (a) =>
        a.type === "MX"
          ? { exchange: a.data.exchange.replace(/\.$/, ""), priority: a.data.preference ?? 0 }
          : null,
      ),
    tlsa: (name) =>
      ask(name, "TLSA", (a) =>
        a.type === "TLSA"
          ? {
              usage: a.data.usage,
              selector: a.data.selector,
              matchingType: a.data.matchingType,
              data: Buffer.from(a.data.certificate),
            }
          : null,
      ),
    address: async (host) => {
      const a = await ask(host, "A", (x) => (x.type === "A" ? x.data : null));
      if (!a.empty) return a;
      const aaaa = await ask(host, "AAAA", (x) => (x.type === "AAAA" ? x.data : null));
      // No address at all: secure only when both denials were validated.
      return aaaa.empty ? { ...aaaa, secure: a.secure && aaaa.secure } : aaaa;
    },
  };
}

/** RFC 7672 §3.1.3: PKIX-TA(0) and PKIX-EE(1) are not for SMTP; unknown parameters are unusable. */
export function usableTlsa(records: readonly TlsaRecord[]): TlsaRecord[] {
  const sizes: Record<number, number> = { 1: 32, 2: 64 };
  return records.filter(
    (r) =>
      (r.usage === 2 || r.usage === 3) &&
      (r.selector === 0 || r.selector === 1) &&
      (r.matchingType === 0 ? r.data.length > 0 : sizes[r.matchingType] === r.data.length),
  );
}

function selected(cert: X509Certificate, selector: number): Buffer {
  return selector === 0 ? cert.raw : cert.publicKey.export({ type: "spki", format: "der" });
}

function matches(r: TlsaRecord, cert: X509Certificate): boolean {
  const data = selected(cert, r.selector);
  const digest =
    r.matchingType === 0
      ? data
      : createHash(r.matchingType === 1 ? "sha256" : "sha512")
          .update(data)
          .digest();
  return digest.equals(r.data);
}

/** The presented chain, leaf first, as X509Certificate (stops at a self-issued certificate). */
export function presentedChain(peer: DetailedPeerCertificate): X509Certificate[] {
  const out: X509Certificate[] = [];
  const seen = new Set<string>();
  for (
    let c: DetailedPeerCertificate | undefined = peer;
    c?.raw && out.length < 10;
    c = c.issuerCertificate
  ) {
    const fp = c.fingerprint256;
    if (seen.has(fp)) break;
    seen.add(fp);
    out.push(new X509Certificate(c.raw));
  }
  return out;
}

/**
 * Checks a server's chain against the usable TLSA records (RFC 7672 §3.1, RFC 7671 §5):
 * DANE-EE(3) matches the leaf, with no name or expiry check (§3.1.1); DANE-TA(2) matches a
 * certificate of the chain that signs, link by link, down to a leaf valid now whose name is
 * one of `names` (the MX host, RFC 7672 §3.2.3). Returns null when it matches, or why not.
 */
export function checkDane(
  records: readonly TlsaRecord[],
  chain: readonly X509Certificate[],
  names: readonly string[],
  now = Date.now(),
): string | null {
  const leaf = chain[0];
  if (!leaf) return "no certificate presented";
  const usable = usableTlsa(records);
  if (usable.some((r) => r.usage === 3 && matches(r, leaf))) return null;
  for (const r of usable.filter((x) => x.usage === 2)) {
    const at = chain.findIndex((c, i) => i > 0 && matches(r, c));
    if (at < 0) continue;
    let linked = true;
    for (let i = 0; i < at; i++) {
      const child = chain[i]!;
      const parent = chain[i + 1]!;
      if (!child.checkIssued(parent) || !child.verify(parent.publicKey)) linked = false;
    }
    if (!linked) continue;
    const from = Date.parse(leaf.validFrom);
    const to = Date.parse(leaf.validTo);
    if (now < from || now > to) return "certificate not valid now";
    if (!names.some((n) => leaf.checkHost(n) !== undefined))
      return `certificate name does not match ${names.join(", ")}`;
    return null;
  }
  return "no TLSA record matches the certificate chain";
}
