// RFC 8621 §4.1.4: textBody / htmlBody / attachments on the RFC's own example, and the
// EmailBodyPart helpers and header forms.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { asDate, asMessageIds, asText, asURLs } from "../../src/mail/header-forms.ts";
import {
  decodedSize,
  jmapBodyLists,
  partCharset,
  partCid,
  partId,
  partName,
} from "../../src/mail/jmap-body.ts";
import { parseMessage } from "../../src/mail/parse.ts";
import type { MimePart } from "../../src/mail/types.ts";
import { crlf } from "./helpers.ts";

function leaf(type: string, label: string, extra: string[] = []): string[] {
  return [`Content-Type: ${type}`, `Content-Description: ${label}`, ...extra, "", label];
}
function multi(sub: string, b: string, kids: string[][]): string[] {
  const out = [`Content-Type: multipart/${sub}; boundary=${b}`, ""];
  for (const k of kids) out.push(`--${b}`, ...k);
  out.push(`--${b}--`);
  return out;
}

void describe("RFC 8621 §4.1.4 body lists", () => {
  // the structure of the RFC's example, parts labelled A..K
  const raw = crlf(
    multi("mixed", "m0", [
      leaf("text/plain", "A"),
      multi("mixed", "m1", [
        multi("alternative", "m2", [
          multi("mixed", "m3", [leaf("text/plain", "B"), leaf("image/jpeg", "C"), leaf("text/plain", "D")]),
          multi("related", "m4", [leaf("text/html", "E"), leaf("image/jpeg", "F")]),
        ]),
        // an image in multipart/mixed is a body part by the pseudocode; the RFC's example lists
        // G among the attachments, which the pseudocode gives for an attached image
        leaf("image/jpeg", "G", ["Content-Disposition: attachment"]),
        leaf("application/x-excel", "H"),
        ["Content-Type: message/rfc822", "Content-Description: J", "", "Subject: J", "", "J"],
      ]),
      leaf("text/plain", "K"),
    ]),
  );
  const pm = parseMessage(raw);
  const labels = (ps: MimePart[]): string => ps.map((p) => p.description).join("");
  void test("textBody, htmlBody, attachments", () => {
    const l = jmapBodyLists(pm.root);
    assert.equal(labels(l.textBody), "ABCDK");
    assert.equal(labels(l.htmlBody), "AEK");
    assert.equal(labels(l.attachments), "CFGHJ");
  });
  void test("a single text/plain message", () => {
    const r = parseMessage(crlf(["Subject: x", "", "hi"]));
    const l = jmapBodyLists(r.root);
    assert.equal(l.textBody.length, 1);
    assert.equal(l.htmlBody[0], r.root);
    assert.equal(partId(r.root), "1");
  });
  void test("an alternative with HTML only serves as text body too", () => {
    const r = parseMessage(crlf(multi("alternative", "a", [leaf("text/html", "H")])));
    const l = jmapBodyLists(r.root);
    assert.equal(labels(l.textBody), "H");
    assert.equal(labels(l.htmlBody), "H");
  });
  void test("a named text part after the first is an attachment", () => {
    const r = parseMessage(
      crlf(multi("mixed", "n", [leaf("text/plain", "T"), leaf("text/plain; name=notes.txt", "N")])),
    );
    assert.equal(labels(jmapBodyLists(r.root).attachments), "N");
  });
});

void describe("EmailBodyPart helpers", () => {
  const raw = crlf([
    "Content-Type: multipart/mixed; boundary=z",
    "",
    "--z",
    "Content-Type: application/pdf; name=fallback.pdf",
    "Content-Disposition: attachment; filename*=utf-8''r%C3%A9sum%C3%A9.pdf",
    "Content-ID: <abc@host>",
    "Content-Transfer-Encoding: base64",
    "",
    "SGVsbG8g",
    "d29ybGQ=",
    "--z",
    "Content-Type: text/plain",
    "Content-Transfer-Encoding: quoted-printable",
    "",
    "a=3Db=",
    "",
    "--z--",
  ]);
  const pm = parseMessage(raw);
  const [pdf, txt] = pm.root.parts!;
  void test("name, cid, charset, partId, decoded size", () => {
    assert.equal(partName(pdf!), "résumé.pdf");
    assert.equal(partCid(pdf!), "abc@host");
    assert.equal(partCharset(pdf!), null);
    assert.equal(partCharset(txt!), "us-ascii");
    assert.equal(partId(pdf!), "1");
    assert.equal(partId(pm.root), null);
    assert.equal(decodedSize(raw, pdf!), 11);
    assert.equal(decodedSize(raw, txt!), 3);
  });
});

void describe("header forms (RFC 8621 §4.1.2)", () => {
  void test("asText, asMessageIds, asDate, asURLs", () => {
    assert.equal(asText("  =?utf-8?q?caf=C3=A9?= au\r\n lait"), "café au lait");
    assert.equal(asText("=?utf-8?q?a=00b?="), "ab");
    assert.deepEqual(asMessageIds("<a@b> <c@d>"), ["a@b", "c@d"]);
    assert.equal(asMessageIds("nothing here"), null);
    assert.equal(asDate("Tue, 02 Jan 2024 03:04:05 +0000"), Date.UTC(2024, 0, 2, 3, 4, 5));
    assert.deepEqual(asURLs("<mailto:list@host?subject=unsubscribe>, <https://host/u>"), [
      "mailto:list@host?subject=unsubscribe",
      "https://host/u",
    ]);
    assert.equal(asURLs("NO"), null);
  });
});
