import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdtemp, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, type TLSSocket } from "node:tls";
import { matchServerName, TlsProvider, type TlsSettings } from "../../src/tls/provider.ts";
import { generateSelfSigned, loadOrCreateSelfSigned, SELF_SIGNED_CERT, SELF_SIGNED_KEY } from "../../src/tls/self-signed.ts";
import { connectTls } from "./helpers.ts";

const settings = (s: Partial<TlsSettings> = {}): TlsSettings => ({
  certFile: "",
  keyFile: "",
  certificates: [],
  minVersion: "TLSv1.2",
  watch: false,
  ...s,
});

/** The common name of the certificate a TLS server presents for `servername`. */
async function servedName(provider: TlsProvider, servername: string): Promise<string> {
  const server = createServer(provider.serverOptions(), (s) => s.end());
  await new Promise<void>((res) => server.listen(0, "127.0.0.1", () => res()));
  try {
    const addr = server.address();
    const port = typeof addr === "object" && addr !== null ? addr.port : 0;
    const c: TLSSocket = await connectTls(port, servername);
    const cn = c.getPeerX509Certificate()?.subject ?? "";
    c.destroy();
    return cn.replace(/^CN=/, "");
  } finally {
    await new Promise<void>((res) => server.close(() => res()));
  }
}

void describe("TLS provider", () => {
  void test("matchServerName: exact names and one-label wildcards (RFC 6125 §6.4.3)", () => {
    assert.ok(matchServerName("mail.example.org", "MAIL.example.org."));
    assert.ok(matchServerName("*.example.org", "imap.example.org"));
    assert.ok(!matchServerName("*.example.org", "example.org"));
    assert.ok(!matchServerName("*.example.org", "a.b.example.org"));
    assert.ok(!matchServerName("mail.example.org", "mail.example.com"));
  });

  void test("with no certificate configured, a self-signed one is generated, saved and reused", async () => {
    const dir = join(await mkdtemp(join(tmpdir(), "mailroom-tls-")), "tls");
    const a = await TlsProvider.create({ settings: settings(), hostname: "mx.example.test", tlsDir: dir });
    const infoA = a.certificates()[0]!;
    assert.equal(infoA.source, "self-signed");
    assert.match(infoA.subjectAltName, /DNS:mx\.example\.test/);
    const x = new X509Certificate(await readFile(join(dir, SELF_SIGNED_CERT)));
    assert.ok(Date.parse(x.validTo) > Date.now() + 9 * 365 * 24 * 3600 * 1000, "valid about ten years");
    assert.equal((await stat(join(dir, SELF_SIGNED_KEY))).mode & 0o777, 0o600, "private key readable by the owner only");
    const b = await TlsProvider.create({ settings: settings(), hostname: "mx.example.test", tlsDir: dir });
    assert.equal(b.certificates()[0]!.fingerprint256, infoA.fingerprint256, "reused on the next start");
    const c = await loadOrCreateSelfSigned(dir, "other.example.test");
    assert.equal(c.created, true, "a new host name gets a new certificate");
    assert.equal(await servedName(a, "mx.example.test"), "mx.example.test");
  });

  void test("certificates from files, chosen by SNI, with wildcards", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mailroom-tls-"));
    const write = async (name: string): Promise<{ certFile: string; keyFile: string }> => {
      const pem = await generateSelfSigned(name);
      const certFile = join(dir, `${name}.crt`);
      const keyFile = join(dir, `${name}.key`);
      await writeFile(certFile, pem.cert);
      await writeFile(keyFile, pem.key);
      return { certFile, keyFile };
    };
    const def = await write("default.test");
    const wild = await write("wild.example.org");
    const exact = await write("exact.example.org");
    const p = await TlsProvider.create({
      settings: settings({
        ...def,
        certificates: [
          { names: ["*.example.org"], ...wild },
          { names: ["imap.example.org", "pop.example.org"], ...exact },
        ],
      }),
      hostname: "ignored.test",
      tlsDir: join(dir, "tls"),
    });
    assert.equal(p.certificates().length, 3);
    assert.equal(await servedName(p, "smtp.example.org"), "wild.example.org");
    assert.equal(await servedName(p, "imap.example.org"), "exact.example.org", "an exact name beats a wildcard");
    assert.equal(await servedName(p, "elsewhere.test"), "default.test");
  });

  void test("unusable files are clear errors; a failed reload keeps the current certificates", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mailroom-tls-"));
    const certFile = join(dir, "c.pem");
    const keyFile = join(dir, "k.pem");
    await assert.rejects(
      TlsProvider.create({ settings: settings({ certFile, keyFile }), hostname: "x.test", tlsDir: dir }),
      /cannot read certificate/,
    );
    const one = await generateSelfSigned("one.test");
    const two = await generateSelfSigned("two.test");
    await writeFile(certFile, one.cert);
    await writeFile(keyFile, two.key);
    await assert.rejects(
      TlsProvider.create({ settings: settings({ certFile, keyFile }), hostname: "x.test", tlsDir: dir }),
      /unusable certificate/,
    );
    await assert.rejects(
      TlsProvider.create({ settings: settings({ certFile }), hostname: "x.test", tlsDir: dir }),
      /must be set together/,
    );
    await writeFile(keyFile, one.key);
    const p = await TlsProvider.create({ settings: settings({ certFile, keyFile }), hostname: "x.test", tlsDir: dir });
    await writeFile(certFile, "garbage");
    await assert.rejects(p.reload());
    assert.equal(await servedName(p, "one.test"), "one.test");
  });

  void test("a renewed certificate file is picked up (watch)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mailroom-tls-"));
    const certFile = join(dir, "c.pem");
    const keyFile = join(dir, "k.pem");
    const one = await generateSelfSigned("one.test");
    await writeFile(certFile, one.cert);
    await writeFile(keyFile, one.key);
    const p = await TlsProvider.create({ settings: settings({ certFile, keyFile, watch: true }), hostname: "x.test", tlsDir: dir });
    try {
      assert.equal(await servedName(p, "x"), "one.test");
      const two = await generateSelfSigned("two.test");
      await writeFile(keyFile, two.key);
      await writeFile(certFile, two.cert);
      const deadline = Date.now() + 4000;
      while (p.certificates()[0]!.subject !== "CN=two.test" && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(await servedName(p, "x"), "two.test");
    } finally {
      p.close();
    }
  });
});
