// RFC 5256 §2.1 base subject, used by THREAD=REFERENCES/ORDEREDSUBJECT, SORT SUBJECT and
// JMAP thread assignment (RFC 8621 §3). Input is the decoded subject (step 1's RFC 2047
// decoding done by the caller or by decodeWords).

const MAX = 16 * 1024;

// subj-blob = "[" *BLOBCHAR "]" *WSP ; BLOBCHAR excludes "[" and "]"
const BLOB = /^\[[^[\]]*\][ ]*/;
// subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"
const REFWD = /^(?:re|fwd?)[ ]*(?:\[[^[\]]*\][ ]*)?:[ ]*/i;

/** Strips subj-leader and subj-blob prefixes once each round (RFC 5256 §2.1 step 3). */
function stripLeaders(s: string): string {
  let cur = s;
  for (;;) {
    const before = cur;
    const m = REFWD.exec(cur);
    if (m) cur = cur.slice(m[0].length);
    else {
      const b = BLOB.exec(cur);
      // "If removing the subj-blob would leave an empty string, the blob is kept"
      if (b && cur.length > b[0].length) cur = cur.slice(b[0].length);
    }
    if (cur === before) return cur;
  }
}

/** RFC 5256 §2.1: the base subject of a decoded Subject value. Case is kept. */
export function baseSubject(subject: string | null | undefined): string {
  // step 1: tabs and folding to one space, runs of spaces to one
  let s = (subject ?? "")
    .slice(0, MAX)
    .replace(/[\t\r\n ]+/g, " ")
    .trim();
  for (;;) {
    // step 2: trailing "(fwd)" and white space
    for (;;) {
      const t = s.replace(/[ ]+$/, "");
      const u = /\(fwd\)$/i.test(t) ? t.slice(0, -5) : t;
      if (u === s) break;
      s = u;
    }
    // steps 3-4: leaders and blobs, repeated until nothing changes
    const before = s;
    s = stripLeaders(s);
    if (s !== before) continue;
    // step 5: "[fwd:" ... "]" wrapper
    if (/^\[fwd:/i.test(s) && s.endsWith("]")) {
      s = s.slice(5, -1).trim();
      continue;
    }
    return s;
  }
}
