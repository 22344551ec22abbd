// Hostile inputs: each must parse without throwing and without super-linear blowups. The
// bound is generous (a hang guard, not a benchmark; throughput lives in bench/).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { parseMessage } from "../../src/mail/parse.ts";
import { htmlToText } from "../../src/mail/html-text.ts";
import { checkOffsets } from "./helpers.ts";

const BOUND_MS = 3000;

const hostile: Record<string, () => Buffer> = {
  "a million boundary lines": () =>
    Buffer.from("Content-Type: multipart/mixed; boundary=b\r\n\r\n" + "--b\r\n".repeat(400_000)),
  "boundaries without line breaks": () =>
    Buffer.from("Content-Type: multipart/mixed; boundary=b\r\n\r\n" + "--b".repeat(400_000)),
  "encoded-word starts without ends": () => Buffer.from("Subject: " + "=?a".repeat(200_000) + "\r\n\r\n"),
  "many header fields": () => Buffer.from("X: y\r\n".repeat(200_000) + "\r\nbody"),
  "Re: Re: Re: ...": () => Buffer.from("Subject: " + "Re: ".repeat(100_000) + "x\r\n\r\n"),
  "many addresses": () =>
    Buffer.from(
      "To: " +
        "a@b.c, ".repeat(100_000) +
        "\r\nCc: " +
        "<".repeat(100_000) +
        "\r\nBcc: " +
        "g:".repeat(100_000) +
        "\r\n\r\n",
    ),
  "many RFC 2231 segments": () =>
    Buffer.from("Content-Type: text/plain" + "; a*1*=x".repeat(50_000) + "\r\n\r\n"),
  "deep message/rfc822 chain": () =>
    Buffer.from("Content-Type: message/rfc822\r\n\r\n".repeat(5000) + "x".repeat(200_000)),
  "deep multipart chain": () =>
    Buffer.from(
      Array.from(
        { length: 5000 },
        (_, i) => `Content-Type: multipart/mixed; boundary=${i}\r\n\r\n--${i}\r\n`,
      ).join(""),
    ),
  "unclosed HTML tags": () =>
    Buffer.from(
      "Content-Type: text/html\r\n\r\n" + "<a ".repeat(200_000) + "<".repeat(200_000) + "&#".repeat(100_000),
    ),
  "dense quoted-printable": () =>
    Buffer.from(
      "Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
        "= ".repeat(300_000),
    ),
  "a 3 MB header line": () => Buffer.from("Subject: " + "x".repeat(3_000_000) + "\r\n\r\n"),
  "nested comments": () =>
    Buffer.from(
      "To: " + "(".repeat(100_000) + "\r\nContent-Type: text/plain (" + "(".repeat(100_000) + "\r\n\r\n",
    ),
  "many references": () =>
    Buffer.from(
      "References: " + "<a@b> ".repeat(100_000) + "\r\nIn-Reply-To: " + "x@y ".repeat(100_000) + "\r\n\r\n",
    ),
};

void describe("hostile input stays bounded", () => {
  for (const [name, make] of Object.entries(hostile)) {
    void test(name, () => {
      const raw = make();
      const t0 = performance.now();
      const pm = parseMessage(raw);
      const ms = performance.now() - t0;
      assert.ok(ms < BOUND_MS, `${name}: ${ms.toFixed(0)} ms`);
      checkOffsets(raw, pm);
    });
  }
  void test("HTML with quotes that never close a tag", () => {
    for (const s of ["<a " + '"" '.repeat(200_000) + ">", '<a "'.repeat(200_000), "<a '>".repeat(100_000)]) {
      const t0 = performance.now();
      htmlToText(s);
      assert.ok(performance.now() - t0 < BOUND_MS);
    }
  });
});
