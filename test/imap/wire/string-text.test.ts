// stringText's quick path for plain printable ASCII gives what the general rule gives
// (RFC 9051 §4.3: quoted when it can be, with '"' and '\' escaped; else a literal).
import { test } from "node:test";
import assert from "node:assert/strict";
import { stringText } from "../../../src/protocols/imap/wire/index.ts";

function reference(s: string, utf8: boolean, max = 1024): string {
  const quotable =
    !/[\r\n\0]/.test(s) &&
    (utf8 || !/[^\x00-\x7f]/.test(s)) &&
    Buffer.byteLength(s) <= max &&
    s.length <= max;
  if (quotable) return '"' + s.replace(/["\\]/g, "\\$&") + '"';
  return `{${Buffer.byteLength(s)}}\r\n${s}`;
}

test("stringText matches the general rule on random strings", () => {
  const alphabet = ["a", "Z", " ", '"', "\\", "\r", "\n", "\0", "\t", "\x7f", "\u00e9", "\u20ac", "~", "!"];
  let seed = 7;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  for (let i = 0; i < 3000; i++) {
    const len = i % 50 === 0 ? 1000 + rnd(60) : rnd(20);
    let s = "";
    for (let k = 0; k < len; k++) s += alphabet[rnd(i % 3 === 0 ? 2 : alphabet.length)] ?? "";
    for (const utf8 of [false, true]) {
      assert.equal(stringText(s, { utf8 }), reference(s, utf8), JSON.stringify(s));
      assert.equal(stringText(s, { utf8, maxQuoted: 10 }), reference(s, utf8, 10), JSON.stringify(s));
    }
  }
});
