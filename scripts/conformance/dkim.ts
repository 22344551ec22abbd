// DKIM fixtures of mail-auth-fixtures, verified through src/mailauth/dkim.ts with their key
// records served by a ZoneResolver; every signature of every message must verify PASS.
// - stalwart/dkim/*.txt: rsa-sha256 and ed25519-sha256 (RFC 8463) signatures, at the time
//   the fixtures were made (t=1667843664);
// - mailauth-js/dkim/ec/fixtures/signed.eml with dns.json: an ed25519 and an rsa signature.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { verifyDkim } from "../../src/mailauth/dkim.ts";
import type { SuiteResult } from "./suite.ts";
import { emptyResult } from "./suite.ts";
import { readTxtFixture } from "./fixtures.ts";
import { ZoneResolver } from "./zone.ts";

const STALWART = "mail-auth-fixtures/stalwart/dkim";
const MAILAUTH_EC = "mail-auth-fixtures/mailauth-js/dkim/ec/fixtures";
/** When the stalwart fixtures were signed (their README). */
const STALWART_TIME = 1667843664_000;

function check(
  res: SuiteResult,
  name: string,
  sigs: { result: string; domain: string; selector: string; algorithm: string; comment: string }[],
): string {
  if (sigs.length === 0) {
    res.failed.push({ name, detail: "no signature found" });
    return "no signature";
  }
  const bad = sigs.filter((s) => s.result !== "pass");
  const list = sigs.map((s) => `${s.algorithm} d=${s.domain} s=${s.selector}: ${s.result}`).join(", ");
  if (bad.length === 0) res.passed++;
  else
    res.failed.push({
      name,
      detail: bad
        .map((s) => `${s.algorithm} d=${s.domain} s=${s.selector}: ${s.result} (${s.comment})`)
        .join("; "),
    });
  return list;
}

export async function run(root: string): Promise<SuiteResult> {
  const res = emptyResult("dkim");
  const parts: string[] = [];
  const dir = join(root, STALWART);
  for (const f of (await readdir(dir)).filter((x) => x.endsWith(".txt")).sort()) {
    const { zone, message } = await readTxtFixture(join(dir, f));
    const v = await verifyDkim(message, { resolver: zone, now: STALWART_TIME });
    parts.push(`stalwart/dkim/${f}: ${check(res, `stalwart/dkim/${f}`, v.signatures)}`);
  }
  const dns = JSON.parse(await readFile(join(root, MAILAUTH_EC, "dns.json"), "utf8")) as Record<
    string,
    Record<string, string[][]>
  >;
  const zone = new ZoneResolver();
  for (const [name, types] of Object.entries(dns))
    for (const [type, records] of Object.entries(types))
      for (const r of records) if (type === "TXT") zone.add(name, "TXT", r);
  const message = await readFile(join(root, MAILAUTH_EC, "signed.eml"));
  const wire = Buffer.from(message.toString("latin1").replace(/\r?\n/g, "\r\n"), "latin1");
  const v = await verifyDkim(wire, { resolver: zone, now: Date.now() });
  parts.push(`mailauth-js/dkim/ec/signed.eml: ${check(res, "mailauth-js/dkim/ec/signed.eml", v.signatures)}`);
  res.parts = parts;
  return res;
}
