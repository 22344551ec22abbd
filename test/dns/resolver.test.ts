import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { DnsError, isDnsError, reverseName, StaticResolver, systemResolver } from "../../src/dns/resolver.ts";

function code(e: unknown): string {
  assert.ok(e instanceof DnsError, `expected DnsError, got ${String(e)}`);
  return e.code;
}

void describe("StaticResolver", () => {
  const r = new StaticResolver({
    "example.org": {
      MX: [{ exchange: "mx.example.org", priority: 10 }],
      TXT: ["v=spf1 -all", ["part one ", "part two"]],
      A: ["192.0.2.1"],
    },
    "mx.example.org.": { A: ["192.0.2.25"], AAAA: ["2001:db8::25"] },
    "www.example.org": { CNAME: ["example.org"] },
    "_25._tcp.mx.example.org": { TLSA: [{ usage: 3, selector: 1, matchingType: 1, data: Buffer.from("abcd", "hex") }] },
    "192.0.2.25": { PTR: ["mx.example.org"] },
    "2001:db8::25": { PTR: ["mx6.example.org"] },
    "broken.example": { fail: "SERVFAIL" },
    "slow.example": { fail: "TIMEOUT" },
  });

  void test("answers each record type", async () => {
    assert.deepEqual(await r.resolveMx("example.org"), [{ exchange: "mx.example.org", priority: 10 }]);
    assert.deepEqual(await r.resolveTxt("EXAMPLE.org."), [["v=spf1 -all"], ["part one ", "part two"]]);
    assert.deepEqual(await r.resolve4("mx.example.org"), ["192.0.2.25"]);
    assert.deepEqual(await r.resolve6("mx.example.org"), ["2001:db8::25"]);
    assert.deepEqual(await r.resolveCname("www.example.org"), ["example.org"]);
    assert.deepEqual(await r.resolvePtr("192.0.2.25"), ["mx.example.org"]);
    assert.deepEqual(await r.resolvePtr("2001:0db8:0:0::25"), ["mx6.example.org"]);
    const [tlsa] = await r.resolveTlsa("_25._tcp.mx.example.org");
    assert.equal(tlsa?.usage, 3);
    assert.equal(tlsa?.data.toString("hex"), "abcd");
  });

  void test("NXDOMAIN, NODATA, SERVFAIL, TIMEOUT", async () => {
    assert.equal(await r.resolveMx("nowhere.example").catch(code), "NXDOMAIN");
    assert.equal(await r.resolveMx("mx.example.org").catch(code), "NODATA");
    assert.equal(await r.resolveTxt("broken.example").catch(code), "SERVFAIL");
    assert.equal(await r.resolve4("slow.example").catch(code), "TIMEOUT");
    await assert.rejects(r.resolvePtr("198.51.100.1"), (e: unknown) => isDnsError(e, "NXDOMAIN"));
  });

  void test("set, add, delete and the query log", async () => {
    const s = new StaticResolver();
    s.add("a.example", "TXT", ["one"]);
    s.add("a.example", "TXT", ["two"]);
    assert.deepEqual(await s.resolveTxt("a.example"), [["one"], ["two"]]);
    s.set("a.example", { A: ["192.0.2.9"] });
    assert.equal(await s.resolveTxt("a.example").catch(code), "NODATA");
    s.delete("a.example");
    assert.equal(await s.resolve4("a.example").catch(code), "NXDOMAIN");
    assert.deepEqual(s.queries.map((q) => q.type), ["TXT", "TXT", "A"]);
  });

  void test("answers are copies", async () => {
    const mx = await r.resolveMx("example.org");
    mx[0]!.priority = 99;
    assert.equal((await r.resolveMx("example.org"))[0]?.priority, 10);
  });
});

void test("reverseName (RFC 1035 §3.5, RFC 3596 §2.5)", () => {
  assert.equal(reverseName("192.0.2.1"), "1.2.0.192.in-addr.arpa");
  assert.equal(
    reverseName("2001:db8::567:89ab"),
    "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
  );
  assert.equal(reverseName("::1").split(".").length, 34);
});

void describe("systemResolver", () => {
  void test("maps a nameserver's answers to codes (fake DNS server on 127.0.0.1)", async () => {
    // A tiny nameserver: NXDOMAIN for "nx.test", SERVFAIL for everything else.
    const server = createSocket("udp4");
    server.on("message", (msg, rinfo) => {
      const qname: string[] = [];
      let i = 12;
      while (msg[i] !== 0 && i < msg.length) {
        const len = msg[i]!;
        qname.push(msg.subarray(i + 1, i + 1 + len).toString());
        i += len + 1;
      }
      const question = msg.subarray(12, i + 5);
      const rcode = qname.join(".") === "nx.test" ? 3 : 2;
      const header = Buffer.alloc(12);
      msg.copy(header, 0, 0, 2); // id
      header.writeUInt16BE(0x8180 | rcode, 2); // QR, RD, RA, rcode
      header.writeUInt16BE(1, 4); // one question
      server.send(Buffer.concat([header, question]), rinfo.port, rinfo.address);
    });
    await new Promise<void>((res) => server.bind(0, "127.0.0.1", () => res()));
    try {
      const r = systemResolver([`127.0.0.1:${server.address().port}`], { timeoutMs: 500, tries: 1 });
      assert.equal(await r.resolveMx("nx.test").catch(code), "NXDOMAIN");
      assert.equal(await r.resolveTxt("other.test").catch(code), "SERVFAIL");
    } finally {
      server.close();
    }
  });

  void test("a silent nameserver is a TIMEOUT", async () => {
    const server = createSocket("udp4");
    await new Promise<void>((res) => server.bind(0, "127.0.0.1", () => res()));
    try {
      const r = systemResolver([`127.0.0.1:${server.address().port}`], { timeoutMs: 200, tries: 1 });
      assert.equal(await r.resolve4("quiet.test").catch(code), "TIMEOUT");
    } finally {
      server.close();
    }
  });
});
