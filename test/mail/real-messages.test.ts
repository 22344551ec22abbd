// Real messages from the shared conformance corpora (../shared/conformance/**/*.eml): each
// parses with exact offsets, and its part tree matches what Python's email package (Debian's
// python3, an independent MIME parser) finds.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { bodyStructure } from "../../src/mail/body-structure.ts";
import { formatImapValue } from "../../src/mail/imap-value.ts";
import { parseMessage } from "../../src/mail/parse.ts";
import type { MimePart } from "../../src/mail/types.ts";
import { conformanceRoot } from "../../scripts/conformance.ts";
import { checkOffsets } from "./helpers.ts";

const corpus = conformanceRoot();
const python = "/usr/bin/python3";

function emlFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) emlFiles(p, out);
    else if (name.endsWith(".eml") && st.size < 5_000_000) out.push(p);
  }
  return out;
}

// Python walks into every message/* payload; IMAP only into message/rfc822 and message/global.
const PY_WALK = `
import email, sys, json
from email import policy
def walk(m, out):
    t = m.get_content_type()
    out.append(t)
    if m.is_multipart():
        if t.startswith("message/") and t not in ("message/rfc822", "message/global"):
            return
        for p in m.get_payload():
            walk(p, out)
res = {}
for f in sys.argv[1:]:
    with open(f, "rb") as fh:
        m = email.message_from_binary_file(fh, policy=policy.compat32)
    out = []
    walk(m, out)
    res[f] = out
print(json.dumps(res))
`;

function ourTypes(p: MimePart, out: string[] = []): string[] {
  out.push(`${p.contentType.type}/${p.contentType.subtype}`);
  for (const k of p.parts ?? []) ourTypes(k, out);
  if (p.message) ourTypes(p.message, out);
  return out;
}

const files = emlFiles(corpus);

void describe("real messages from the shared corpora", () => {
  void test(
    "exact offsets and BODYSTRUCTURE for every message",
    () => {
      for (const f of files) {
        const raw = readFileSync(f);
        const pm = parseMessage(raw);
        checkOffsets(raw, pm);
        assert.ok(formatImapValue(bodyStructure(pm.root)).startsWith("("), f);
      }
    },
  );
  void test(
    "the same part tree as Python's email package",
    { skip: files.length === 0 || !existsSync(python) ? "no corpus or python3" : false },
    () => {
      const py = JSON.parse(
        execFileSync(python, ["-c", PY_WALK, ...files], { maxBuffer: 64 * 1024 * 1024 }).toString(),
      ) as Record<string, string[]>;
      for (const f of files) {
        assert.deepEqual(ourTypes(parseMessage(readFileSync(f)).root), py[f], f);
      }
    },
  );
});
