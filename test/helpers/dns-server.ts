// A DNS server for tests, on 127.0.0.1 UDP with port 0, answering from the same record map as
// StaticResolver: the server under test reaches it through its real resolver (config
// `dns.resolver` or MAILROOM_DNS=127.0.0.1:PORT), so lookups cross a real socket.
import { createSocket, type Socket } from "node:dgram";
import { isIP } from "node:net";
import * as packet from "dns-packet";
import { normalizeName, reverseName, type StaticRecords } from "../../src/dns/resolver.ts";

export interface TestDnsServer {
  port: number;
  /** "127.0.0.1:PORT", as MAILROOM_DNS and dns.resolver take it. */
  address: string;
  set(name: string, records: StaticRecords): void;
  close(): Promise<void>;
}

const RCODE = { SERVFAIL: 2, NXDOMAIN: 3 } as const;

function answers(q: packet.Question, recs: StaticRecords): packet.Answer[] {
  const base = { name: q.name, ttl: 60, class: "IN" as const };
  switch (q.type) {
    case "A":
      return (recs.A ?? []).map((data) => ({ ...base, type: "A", data }));
    case "AAAA":
      return (recs.AAAA ?? []).map((data) => ({ ...base, type: "AAAA", data }));
    case "MX":
      return (recs.MX ?? []).map((m) => ({
        ...base,
        type: "MX",
        data: { preference: m.priority, exchange: m.exchange === "." ? "" : m.exchange },
      }));
    case "TXT":
      return (recs.TXT ?? []).map((t) => ({ ...base, type: "TXT", data: typeof t === "string" ? [t] : t }));
    case "PTR":
      return (recs.PTR ?? []).map((data) => ({ ...base, type: "PTR", data }));
    case "CNAME":
      return (recs.CNAME ?? []).map((data) => ({ ...base, type: "CNAME", data }));
    case "TLSA":
      return (recs.TLSA ?? []).map((t) => ({
        ...base,
        type: "TLSA",
        data: { usage: t.usage, selector: t.selector, matchingType: t.matchingType, certificate: t.data },
      }));
    default:
      return [];
  }
}

export interface DnsServerOptions {
  /** Names whose answers carry the AD bit, as a validating resolver's secure answers do. */
  secure?: (name: string) => boolean;
}

export async function startDnsServer(
  records: Record<string, StaticRecords> = {},
  opts: DnsServerOptions = {},
): Promise<TestDnsServer> {
  const zones = new Map<string, StaticRecords>();
  const key = (name: string): string => (isIP(name) !== 0 ? reverseName(name) : normalizeName(name));
  for (const [name, recs] of Object.entries(records)) zones.set(key(name), recs);
  const socket: Socket = createSocket("udp4");
  socket.on("message", (msg, rinfo) => {
    let query: packet.Packet;
    try {
      query = packet.decode(msg);
    } catch {
      return; // not DNS: ignored, as a real server would
    }
    const q = query.questions?.[0];
    if (!q) return;
    const recs = zones.get(normalizeName(q.name));
    let rcode = 0;
    let list: packet.Answer[] = [];
    if (!recs) rcode = RCODE.NXDOMAIN;
    else if (recs.fail === "SERVFAIL") rcode = RCODE.SERVFAIL;
    else if (recs.fail === "TIMEOUT")
      return; // never answered
    else list = answers(q, recs);
    const reply = packet.encode({
      id: query.id ?? 0,
      type: "response",
      flags:
        packet.RECURSION_DESIRED |
        packet.RECURSION_AVAILABLE |
        (opts.secure?.(normalizeName(q.name)) === true ? packet.AUTHENTIC_DATA : 0) |
        rcode,
      questions: [q],
      answers: list,
    });
    socket.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  const port = socket.address().port;
  return {
    port,
    address: `127.0.0.1:${port}`,
    set: (name, recs) => zones.set(key(name), recs),
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
