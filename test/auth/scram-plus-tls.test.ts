// SCRAM-SHA-256-PLUS over a real TLS connection on 127.0.0.1: the server takes its channel
// binding from its socket (tlsChannelBinding), the client computes its own from the client
// socket, and the exchange only succeeds when both agree.
import { test, describe, before } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import tls from "node:tls";
import { generate } from "selfsigned";
import { makeCredential } from "../../src/auth/password.ts";
import { tlsChannelBinding } from "../../src/auth/sasl/channel-binding.ts";
import type { Step } from "../../src/auth/sasl/types.ts";
import { MemorySource, makeAuth, scramClientFinal } from "./helpers.ts";

const PASSWORD = "tr0ub4dor&3";
let pems: { private: string; cert: string };
const src = new MemorySource();

before(async () => {
  pems = await generate([{ name: "commonName", value: "localhost" }], { keySize: 2048, algorithm: "sha256" });
  src.add("alice@example.org", [await makeCredential(PASSWORD, { scramIterations: 4096 })]);
});

/** A connected pair of TLS sockets limited to one TLS version. */
async function tlsPair(
  version: "TLSv1.2" | "TLSv1.3",
): Promise<{ server: tls.TLSSocket; client: tls.TLSSocket; close: () => Promise<void> }> {
  const srv = tls.createServer({
    key: pems.private,
    cert: pems.cert,
    minVersion: version,
    maxVersion: version,
  });
  srv.listen(0, "127.0.0.1");
  await once(srv, "listening");
  const port = (srv.address() as AddressInfo).port;
  const accepted = once(srv, "secureConnection") as Promise<[tls.TLSSocket]>;
  const client = tls.connect({
    host: "127.0.0.1",
    port,
    rejectUnauthorized: false,
    minVersion: version,
    maxVersion: version,
  });
  await once(client, "secureConnect");
  const [server] = await accepted;
  assert.equal(client.getProtocol(), version);
  return {
    server,
    client,
    close: async () => {
      client.destroy();
      server.destroy();
      srv.close();
      await once(srv, "close");
    },
  };
}

async function plusExchange(
  server: tls.TLSSocket,
  cbName: string,
  clientCb: Buffer,
  mechanism = "SCRAM-SHA-256-PLUS",
): Promise<{ first: Step; last: Step; expectedV?: string }> {
  const { auth } = makeAuth(src);
  const conn = { tls: true, ip: "127.0.0.1", channelBinding: tlsChannelBinding(server, "server") };
  assert.ok(auth.mechanisms(conn).includes("SCRAM-SHA-256-PLUS"));
  const mech = auth.createMechanism(mechanism, conn);
  const gs2Header = `p=${cbName},,`;
  const clientFirstBare = "n=alice@example.org,r=clientnonce123";
  const first = await mech.start(Buffer.from(gs2Header + clientFirstBare));
  if (first.type !== "challenge") return { first, last: first };
  const { clientFinal, serverSignature } = scramClientFinal({
    hash: "sha256",
    password: PASSWORD,
    clientFirstBare,
    gs2Header,
    cbData: clientCb,
    serverFirst: first.data.toString(),
  });
  return { first, last: await mech.step(Buffer.from(clientFinal)), expectedV: serverSignature };
}

void describe("SCRAM-SHA-256-PLUS over TLS", () => {
  void test("tls-exporter on TLS 1.3", async () => {
    const { server, client, close } = await tlsPair("TLSv1.3");
    try {
      const cb = client.exportKeyingMaterial(32, "EXPORTER-Channel-Binding", Buffer.alloc(0));
      const { last, expectedV } = await plusExchange(server, "tls-exporter", cb);
      assert.equal(last.type, "success", JSON.stringify(last));
      assert.equal(last.type === "success" && last.data?.toString(), expectedV);
      assert.equal(last.type === "success" && last.result.mechanism, "SCRAM-SHA-256-PLUS");
      // tls-unique is undefined on TLS 1.3
      const u = await plusExchange(server, "tls-unique", client.getFinished()!);
      assert.equal(u.first.type === "failure" && u.first.reason, "not-supported");
    } finally {
      await close();
    }
  });

  void test("tls-unique on TLS 1.2", async () => {
    const { server, client, close } = await tlsPair("TLSv1.2");
    try {
      // RFC 5929 §3.1: the first Finished of a full handshake is the client's.
      const cb = client.getFinished()!;
      const { last, expectedV } = await plusExchange(server, "tls-unique", cb);
      assert.equal(last.type, "success", JSON.stringify(last));
      assert.equal(last.type === "success" && last.data?.toString(), expectedV);
      // we offer tls-exporter on TLS 1.3 only (RFC 9266 §3)
      const e = await plusExchange(server, "tls-exporter", Buffer.alloc(32));
      assert.equal(e.first.type === "failure" && e.first.reason, "not-supported");
    } finally {
      await close();
    }
  });

  void test("a wrong channel binding fails", async () => {
    const { server, client, close } = await tlsPair("TLSv1.3");
    try {
      const good = client.exportKeyingMaterial(32, "EXPORTER-Channel-Binding", Buffer.alloc(0));
      const bad = Buffer.from(good);
      bad[0] = bad[0]! ^ 1;
      const { last } = await plusExchange(server, "tls-exporter", bad);
      assert.equal(last.type, "failure");
      assert.equal(last.type === "failure" && last.reason, "bad-credentials");
      assert.match(last.type === "failure" ? last.message : "", /channel-bindings-dont-match/);
      // a binding from another connection fails as well
      const other = await tlsPair("TLSv1.3");
      try {
        const foreign = other.client.exportKeyingMaterial(32, "EXPORTER-Channel-Binding", Buffer.alloc(0));
        assert.equal((await plusExchange(server, "tls-exporter", foreign)).last.type, "failure");
      } finally {
        await other.close();
      }
    } finally {
      await close();
    }
  });

  void test("-PLUS is neither offered nor usable without TLS; unknown binding types are refused", async () => {
    const { auth } = makeAuth(src);
    assert.ok(!auth.mechanisms({ tls: false }).some((m) => m.endsWith("-PLUS")));
    const s = await auth
      .createMechanism("SCRAM-SHA-256-PLUS", { tls: false })
      .start(Buffer.from("p=tls-exporter,,n=alice@example.org,r=x"));
    assert.equal(s.type === "failure" && s.reason, "not-supported");
    const { server, close } = await tlsPair("TLSv1.3");
    try {
      const r = await plusExchange(server, "tls-server-end-point", Buffer.alloc(32));
      assert.equal(r.first.type === "failure" && r.first.message, "unsupported-channel-binding-type");
      // -PLUS with gs2 flag "n" is malformed
      const m = makeAuth(src).auth.createMechanism("SCRAM-SHA-256-PLUS", {
        tls: true,
        channelBinding: tlsChannelBinding(server),
      });
      const n = await m.start(Buffer.from("n,,n=alice@example.org,r=x"));
      assert.equal(n.type === "failure" && n.reason, "malformed");
    } finally {
      await close();
    }
  });
});
