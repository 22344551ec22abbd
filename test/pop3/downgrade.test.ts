// RFC 6857 downgrade of UTF-8 header fields (src/protocols/pop3/wire/downgrade.ts), and the
// LANG argument of the command parser (RFC 6856 §3). Property tests: any header becomes
// 7-bit, the body is never touched, unstructured text survives a decode.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { decodeWords } from "../../src/mail/headers.ts";
import { parseAddressGroups } from "../../src/mail/address.ts";
import { parseCommand } from "../../src/protocols/pop3/wire/command.ts";
import { downgradeField, downgradeMessage, needsDowngrade } from "../../src/protocols/pop3/wire/downgrade.ts";

const b = (s: string): Buffer => Buffer.from(s, "utf8");
const ascii = (x: Buffer | string): boolean => [...Buffer.from(x)].every((c) => c < 0x80);
/** The unfolded value of a field line (with folds). */
const value = (field: string): string =>
  field
    .slice(field.indexOf(":") + 1)
    .replace(/\r\n /g, " ")
    .trim();

void describe("POP3 downgrade (RFC 6857)", () => {
  void test("only messages with non-ASCII header octets need it; ASCII ones are returned as is", () => {
    const plain = b("Subject: hi\r\n\r\nbödy\r\n");
    assert.equal(needsDowngrade(plain), false);
    assert.equal(downgradeMessage(plain), plain);
    assert.equal(needsDowngrade(b("Subject: hï\r\n\r\nbody\r\n")), true);
    assert.equal(needsDowngrade(b("Subject: hï\n\nbody\n")), true);
    assert.equal(needsDowngrade(b("Subject: hi\n\nbödy\r\n\r\nmore")), false);
    assert.equal(needsDowngrade(b("Subject: all header, ü")), true);
  });

  void test("address fields: encoded names, A-label domains, UTF-8 mailboxes as named empty groups", () => {
    const from = downgradeField("From", "Jöran <j@bücher.example>");
    assert.equal(from, "From: =?UTF-8?B?SsO2cmFu?= <j@xn--bcher-kva.example>\r\n");
    const to = downgradeField("To", '"Team": bob@example.test, 张三@例子.中国;, Ann <ann@example.test>');
    assert.ok(ascii(to), to);
    const groups = parseAddressGroups(value(to));
    assert.deepEqual(
      groups.map((g) => [g.name, g.addresses.map((a) => a.address)]),
      [
        ["Team", ["bob@example.test"]],
        ["张三@例子.中国", []],
        [null, ["ann@example.test"]],
      ],
    );
  });

  void test("MIME parameters in RFC 2231 form; identifiers encapsulated as Downgraded-*", () => {
    assert.equal(
      downgradeField("Content-Type", 'text/plain; charset=utf-8; name="résumé 1.txt"'),
      "Content-Type: text/plain; charset=utf-8; name*=utf-8''r%C3%A9sum%C3%A9%201.txt\r\n",
    );
    assert.equal(
      downgradeField("Content-Disposition", "attachment; filename*=UTF-8''r\u00e9sum\u00e9.txt"),
      "Content-Disposition: attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.txt\r\n",
    );
    const id = downgradeField("Message-ID", "<ü@example.test>");
    assert.match(id, /^Downgraded-Message-ID: =\?UTF-8\?B\?/);
    assert.equal(decodeWords(value(id)), "<ü@example.test>");
  });

  void test("property: any UTF-8 header becomes 7-bit with short lines; body and ASCII fields kept", () => {
    const text = fc
      .string({ unit: "grapheme", minLength: 1, maxLength: 200 })
      .map((s) => s.replace(/[\r\n\x00]/g, " "));
    fc.assert(
      fc.property(
        fc.constantFrom("Subject", "From", "To", "Message-ID", "Content-Type", "X-Other", "Received"),
        text,
        fc.uint8Array({ maxLength: 200 }),
        (name, v, body) => {
          const msg = Buffer.concat([b(`X-Keep: yes\r\n${name}: ${v}\r\n\r\n`), body]);
          const out = downgradeMessage(msg);
          const end = out.indexOf("\r\n\r\n") + 4;
          const header = out.subarray(0, end).toString("latin1");
          assert.ok(ascii(header), header);
          assert.ok(out.subarray(end).equals(Buffer.from(body)));
          assert.ok(header.startsWith("X-Keep: yes\r\n"));
          for (const line of header.split("\r\n")) assert.ok(line.length <= 998);
          if (name === "Subject") {
            const got = /^Subject: (.*(?:\r\n .*)*)\r\n/m.exec(header)?.[1] ?? "";
            const words = (x: string): string =>
              x
                .trim()
                .split(/[ \t]+/)
                .join(" ");
            assert.equal(words(decodeWords(got.replace(/\r\n /g, " "))), words(v));
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

void describe("POP3 LANG parsing (RFC 6856 §3)", () => {
  void test("no argument, a basic range or *; anything else refused", () => {
    assert.deepEqual(parseCommand(b("LANG")), { ok: true, command: { name: "LANG" } });
    assert.deepEqual(parseCommand(b("lang *")), { ok: true, command: { name: "LANG", range: "*" } });
    assert.deepEqual(parseCommand(b("LANG en-GB")), { ok: true, command: { name: "LANG", range: "en-GB" } });
    for (const bad of ["LANG en_GB", "LANG en GB", "LANG -en", "LANG abcdefghi", "LANG en-"])
      assert.equal(parseCommand(b(bad)).ok, false, bad);
  });
});

void describe("POP3 downgrade of legacy 8-bit headers", () => {
  void test("octets that are not UTF-8 are read as windows-1252", () => {
    const msg = Buffer.concat([b("Subject: caf"), Buffer.from([0xe9]), b("\r\n\r\nbody\r\n")]);
    const out = downgradeMessage(msg).toString("latin1");
    assert.equal(decodeWords(/^Subject: (.*)\r$/m.exec(out)?.[1] ?? ""), "café");
    assert.ok(out.endsWith("\r\n\r\nbody\r\n"));
  });
});
