// The ARC test suite (arc_test_suite/tests: validation, 171 tests; signing, 17 tests) and the
// ARC fixtures of mail-auth-fixtures, run through src/mailauth/ with each scenario's key
// records served by a ZoneResolver.
//
// The suite was written against draft-ietf-dmarc-arc-protocol before RFC 8617 was published.
// Where the RFC's rule gives another answer than the suite expects, the RFC's answer counts
// and the case is listed with the rule (DISAGREEMENTS below).
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { createPublicKey, verify as cryptoVerify } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { sealMessage } from "mailauth";
import { verifyArc } from "../../src/mailauth/arc.ts";
import { verifyDkim } from "../../src/mailauth/dkim.ts";
import type { SuiteResult } from "./suite.ts";
import { emptyResult } from "./suite.ts";
import { txtZone } from "./zone.ts";
import { readTxtFixture } from "./fixtures.ts";

export const ARC_VALIDATION = "arc_test_suite/tests/arc-draft-validation-tests.yml";
export const ARC_SIGNING = "arc_test_suite/tests/arc-draft-sign-tests.yml";

/**
 * The cases where RFC 8617 gives another chain validation status than the suite: test name
 * => [the RFC's status, the argument].
 */
export const DISAGREEMENTS: Record<string, [string, string]> = {
  cv_fail_i1_as_cv_fail: [
    "fail",
    "the suite leaves cv empty (no status) for a chain whose newest ARC-Seal says cv=fail; RFC 8617 §5.2 step 2: a chain whose highest-instance ARC-Seal has cv=fail has the status 'fail'",
  ],
  cv_fail_i2_as2_fail: [
    "fail",
    "the suite leaves cv empty for a chain whose newest ARC-Seal (i=2) says cv=fail; RFC 8617 §5.2 step 2 makes that chain 'fail'",
  ],
  cv_fail_i2_as1_fail: [
    "fail",
    "the suite leaves cv empty for a chain whose ARC-Seal i=1 says cv=fail; RFC 8617 §5.2 step 3.C (cv of i=1 MUST be 'none', every later one 'pass') makes it 'fail'",
  ],
  ams_fields_c_na: [
    "fail",
    "the ARC-Message-Signature has no c= tag and was made with relaxed canonicalization; RFC 8617 §4.1.2 gives the AMS the syntax and semantics of DKIM-Signature, whose c= defaults to simple/simple (RFC 6376 §3.5), under which it does not verify, so the newest AMS does not validate: 'fail' (§5.2 step 4)",
  ],
  ams_fields_h_empty: [
    "fail",
    "the ARC-Message-Signature has an empty h=; RFC 6376 §3.5 (sig-h-tag needs at least one name, and From MUST be signed, §6.1.1 PERMFAIL), which RFC 8617 §4.1.2 applies to the AMS, so the newest AMS does not validate: 'fail' (§5.2 step 4)",
  ],
};

interface ValidationTest {
  description?: string;
  spec?: string;
  message: string;
  cv: string;
}

interface SigningTest extends ValidationTest {
  t: number;
  "sig-headers": string;
  "srv-id": string;
  AS: string;
  AMS: string;
  AAR: string;
}

interface Scenario<T> {
  description: string;
  tests: Record<string, T>;
  "txt-records"?: Record<string, string>;
  txt_records?: Record<string, string>;
  domain?: string;
  sel?: string;
  privatekey?: string;
}

/** A message of the suite: YAML text with LF line ends, as CRLF wire bytes. */
export function wire(message: string): Buffer {
  return Buffer.from(message.replace(/\r?\n/g, "\r\n"), "utf8");
}

/** A key record as the suite writes it (folded over lines) as one TXT string. */
function txt(v: string): string {
  return v.replace(/\s*\n\s*/g, "").trim();
}

async function scenarios<T>(path: string): Promise<Scenario<T>[]> {
  return parseAllDocuments(await readFile(path, "utf8"))
    .map((d) => d.toJS() as Scenario<T> | null)
    .filter((s): s is Scenario<T> => s !== null && s.tests !== undefined);
}

function zoneOf(sc: Scenario<unknown>) {
  const recs = sc["txt-records"] ?? sc.txt_records ?? {};
  return txtZone(Object.fromEntries(Object.entries(recs).map(([k, v]) => [k, txt(String(v))])));
}

async function validation(root: string, res: SuiteResult): Promise<string> {
  let total = 0;
  let passed = 0;
  for (const sc of await scenarios<ValidationTest>(join(root, ARC_VALIDATION))) {
    const zone = zoneOf(sc);
    for (const [name, t] of Object.entries(sc.tests)) {
      total++;
      const expected =
        String(t.cv ?? "")
          .trim()
          .toLowerCase() || "(empty)";
      const dkim = await verifyDkim(wire(String(t.message ?? "")), { resolver: zone, now: Date.now() });
      const arc = await verifyArc(dkim);
      const id = `validation ${name} (${String(t.description ?? "").trim()})`;
      const disagreement = DISAGREEMENTS[name];
      if (disagreement !== undefined && arc.result === disagreement[0]) {
        passed++;
        res.disagreements.push({
          name: `${id}: suite ${expected}, RFC 8617 ${disagreement[0]}`,
          detail: disagreement[1],
        });
      } else if (arc.result === expected) passed++;
      else res.failed.push({ name: id, detail: `got ${arc.result} (${arc.comment}), expected ${expected}` });
    }
  }
  res.passed += passed;
  return `ARC validation: ${passed}/${total}`;
}

/** The tags of a header value (RFC 6376 §3.2 tag-list), names lower-cased, values unfolded. */
function tags(v: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const part of v.replace(/\s+/g, "").split(";")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    m.set(part.slice(0, eq).toLowerCase(), part.slice(eq + 1));
  }
  return m;
}

/** Every tag of `want` but b= has the same value in `got` (b= and bh= compared exactly). */
function sameTags(got: string, want: string): string | null {
  const g = tags(got);
  for (const [k, v] of tags(want)) {
    if (k === "b") continue;
    const gv = g.get(k);
    // h= names the same fields in any order (RFC 6376 §3.5 leaves the order to the signer).
    const norm = (x: string) =>
      k === "bh" ? x : k === "h" ? x.toLowerCase().split(":").sort().join(":") : x.toLowerCase();
    if (gv === undefined || norm(gv) !== norm(v)) return `${k}=${gv ?? "(missing)"}, expected ${v}`;
  }
  return null;
}

/** The AAR text compared without white space. */
const squash = (s: string) => s.replace(/\s+/g, "");

/** RFC 6376 §3.4.2 relaxed header canonicalization of one field. */
function relaxed(name: string, value: string): string {
  return `${name.trim().toLowerCase()}:${value
    .replace(/\r\n/g, "")
    .replace(/[ \t]+/g, " ")
    .trim()}`;
}

/** A tag-list value with the b= value emptied (RFC 6376 §3.7, RFC 8617 §5.1.1). */
function withoutB(value: string): string {
  return value.replace(/(^|;)(\s*b\s*=)[^;]*/, "$1$2");
}

/** The header fields of a message as [name, value] pairs, top first. */
function fieldsOf(message: Buffer): [string, string][] {
  const text = message.toString("utf8");
  const end = text.indexOf("\r\n\r\n");
  const head = end < 0 ? text : text.slice(0, end);
  return head
    .split(/\r\n(?![ \t])/)
    .filter((f) => f.includes(":"))
    .map((f) => [f.slice(0, f.indexOf(":")), f.slice(f.indexOf(":") + 1)]);
}

function verifySig(key: KeyObject, data: string, b: string): boolean {
  return cryptoVerify("sha256", Buffer.from(data, "utf8"), key, Buffer.from(b.replace(/\s+/g, ""), "base64"));
}

/**
 * Checks the b= of the ARC-Message-Signature and ARC-Seal we made with the scenario's public
 * key, over the data RFC 8617 says they sign: the AMS as a DKIM-Signature over its h= fields
 * (§4.1.2, RFC 6376 §3.7); the AS over every ARC Set in instance order, or only the new set
 * when it says cv=fail (§5.1.1, §5.1.2).
 */
function checkSignatures(sealed: Buffer, publicKey: KeyObject, instance: number): string | null {
  const fields = fieldsOf(sealed);
  const arcOf = (name: string, i: number) =>
    fields.find(([n, v]) => n.trim().toLowerCase() === name && tags(v).get("i") === String(i));
  const ams = arcOf("arc-message-signature", instance);
  const as = arcOf("arc-seal", instance);
  if (!ams || !as) return "the new ARC Set is incomplete";
  const h = (tags(ams[1]).get("h") ?? "").split(":").filter((x) => x !== "");
  const used = new Map<string, number>();
  const lines: string[] = [];
  for (const name of h) {
    // RFC 6376 §5.4.2: repeated names take the fields from the bottom up.
    const same = fields.filter(([n]) => n.trim().toLowerCase() === name.toLowerCase());
    const k = used.get(name.toLowerCase()) ?? 0;
    used.set(name.toLowerCase(), k + 1);
    const f = same[same.length - 1 - k];
    if (f) lines.push(relaxed(f[0], f[1]));
  }
  const amsData = [...lines, relaxed(ams[0], withoutB(ams[1]))].join("\r\n");
  if (!verifySig(publicKey, amsData, tags(ams[1]).get("b") ?? "")) return "AMS b= does not verify";
  const cv = tags(as[1]).get("cv");
  const from = cv === "fail" ? instance : 1;
  const sealLines: string[] = [];
  for (let i = from; i <= instance; i++) {
    for (const name of ["arc-authentication-results", "arc-message-signature", "arc-seal"]) {
      const f = arcOf(name, i);
      if (!f) return `ARC Set ${i} is incomplete`;
      sealLines.push(relaxed(f[0], i === instance && name === "arc-seal" ? withoutB(f[1]) : f[1]));
    }
  }
  if (!verifySig(publicKey, sealLines.join("\r\n"), tags(as[1]).get("b") ?? ""))
    return "AS b= does not verify";
  return null;
}

async function signing(root: string, res: SuiteResult): Promise<string> {
  let total = 0;
  let passed = 0;
  for (const sc of await scenarios<SigningTest>(join(root, ARC_SIGNING))) {
    const zone = zoneOf(sc);
    const keyRecord = Object.values(sc["txt-records"] ?? {})[0] ?? "";
    const p = /p=([^;]+)/.exec(txt(String(keyRecord)))?.[1] ?? "";
    const publicKey = createPublicKey({ key: Buffer.from(p, "base64"), format: "der", type: "spki" });
    for (const [name, t] of Object.entries(sc.tests)) {
      total++;
      const id = `signing ${name} (${String(t.description ?? "").trim()})`;
      const message = wire(String(t.message));
      const dkim = await verifyDkim(message, { resolver: zone, now: Date.now() });
      const arRaw = authResultsOf(message, t["srv-id"]);
      // The suite stamps the chain status its signer is to use in the Authentication-Results
      // of the srv-id (README "Signing Suite Assumptions"); without one, our validation.
      const stamped = /(?:^|;)\s*arc=(\w+)/i.exec(arRaw)?.[1]?.toLowerCase();
      const cv = stamped ?? (await verifyArc(dkim)).result;
      const sealed = await sealMessage(message, {
        signingDomain: sc.domain ?? "",
        selector: sc.sel ?? "",
        privateKey: sc.privatekey ?? "",
        cv,
        authResults: `${t["srv-id"]}; ${arRaw}`,
        signTime: new Date(Number(t.t) * 1000),
        headerList: t["sig-headers"],
        canonicalization: "relaxed/relaxed",
        algorithm: "rsa-sha256",
      });
      const setLines = sealed
        .toString("utf8")
        .split(/\r\n(?![ \t])/)
        .filter((l) => l.trim() !== "");
      const got = headersByName(setLines);
      const problems: string[] = [];
      const as = got.get("arc-seal");
      const ams = got.get("arc-message-signature");
      const aar = got.get("arc-authentication-results");
      if (String(t.AS ?? "").trim() === "") {
        // No set expected: none may be made.
        if (as !== undefined) problems.push("a seal was made where none is expected");
      } else if (as === undefined || ams === undefined || aar === undefined) {
        problems.push("no seal was made");
      } else {
        const p1 = sameTags(as, t.AS);
        if (p1) problems.push(`AS ${p1}`);
        const p2 = sameTags(ams, t.AMS);
        if (p2) problems.push(`AMS ${p2}`);
        if (squash(aar) !== squash(t.AAR))
          problems.push(`AAR ${JSON.stringify(aar)}, expected ${JSON.stringify(t.AAR)}`);
        const sig = checkSignatures(Buffer.concat([sealed, message]), publicKey, Number(tags(as).get("i")));
        if (sig) problems.push(sig);
      }
      if (problems.length === 0) passed++;
      else res.failed.push({ name: id, detail: problems.join("; ") });
    }
  }
  res.passed += passed;
  return `ARC signing: ${passed}/${total} (every tag but b= as published; b= verified with the scenario key over what RFC 8617 §5.1.1 signs: the suite's header format is its own convention, README "Signing Header Format Standardization")`;
}

/** The header values of sealing output ("Name: value" lines), by lower-case name. */
function headersByName(lines: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const l of lines) {
    const c = l.indexOf(":");
    m.set(l.slice(0, c).trim().toLowerCase(), l.slice(c + 1).trim());
  }
  return m;
}

/**
 * The results of every Authentication-Results of `srvId`, in message order, each on its own
 * (README "AR Consolidation"), joined by "; ".
 */
function authResultsOf(message: Buffer, srvId: string): string {
  const text = message.toString("utf8");
  const end = text.indexOf("\r\n\r\n");
  const head = end < 0 ? text : text.slice(0, end + 2);
  const fields = head.split(/\r\n(?![ \t])/);
  const out: string[] = [];
  for (const f of fields) {
    const m = /^authentication-results:(.*)$/is.exec(f);
    if (!m || m[1] === undefined) continue;
    const value = m[1].replace(/\r\n/g, "").trim();
    const semi = value.indexOf(";");
    const id = (semi < 0 ? value : value.slice(0, semi)).trim();
    if (id.toLowerCase() !== srvId.toLowerCase()) continue;
    if (semi >= 0) out.push(value.slice(semi + 1).trim());
  }
  return out.filter((x) => x !== "").join("; ");
}

/**
 * mail-auth-fixtures: stalwart/arc/*.txt must validate PASS at t=1667843664; the ARC messages
 * of mailauth-js/fixtures (sealed by google.com, selector arc-20160816, whose key record comes
 * with stalwart/arc/001.txt) must validate as their names say.
 */
async function fixtures(root: string, res: SuiteResult): Promise<string> {
  let total = 0;
  let passed = 0;
  const outcome = (name: string, got: string, comment: string, want: string) => {
    total++;
    if (got === want) passed++;
    else res.failed.push({ name: `fixture ${name}`, detail: `got ${got} (${comment}), expected ${want}` });
  };
  for (const f of ["001.txt", "002.txt"]) {
    const { zone, message } = await readTxtFixture(join(root, "mail-auth-fixtures/stalwart/arc", f));
    const arc = await verifyArc(await verifyDkim(message, { resolver: zone, now: 1667843664_000 }));
    outcome(`stalwart/arc/${f}`, arc.result, arc.comment, "pass");
  }
  const { zone } = await readTxtFixture(join(root, "mail-auth-fixtures/stalwart/arc/001.txt"));
  for (const f of ["arc-pass.eml", "arc-pass2.eml", "arc-fail.eml", "arc-fail2.eml", "arc-fail3.eml"]) {
    const text = await readFile(join(root, "mail-auth-fixtures/mailauth-js/fixtures", f), "latin1");
    const message = Buffer.from(text.replace(/\r?\n/g, "\r\n"), "latin1");
    const arc = await verifyArc(await verifyDkim(message, { resolver: zone, now: Date.now() }));
    outcome(`mailauth-js/fixtures/${f}`, arc.result, arc.comment, f.startsWith("arc-pass") ? "pass" : "fail");
  }
  res.passed += passed;
  return `ARC fixtures (mail-auth-fixtures): ${passed}/${total}`;
}

export async function run(root: string): Promise<SuiteResult> {
  const res = emptyResult("arc");
  res.parts = [await validation(root, res), await signing(root, res), await fixtures(root, res)];
  return res;
}
