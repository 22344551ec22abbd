// ID (RFC 2971 §3.3): id = "ID" SP id-params-list; id-params-list = "(" *(string SP nstring)
// ")" / nil. §3.3: at most 30 pairs, field names at most 30 octets, values at most 1024.
import type { ArgReader } from "../args.ts";

export interface IdArgs {
  type: "id";
  /** Field/value pairs in order, or null for NIL. */
  params: Array<[string, string | null]> | null;
}

export function parseId(r: ArgReader): IdArgs {
  r.sp();
  if (!r.tryOpen()) {
    if (r.keyword("a list or NIL") !== "NIL") r.fail("Expected a list or NIL");
    r.end();
    return { type: "id", params: null };
  }
  const params: Array<[string, string | null]> = [];
  if (!r.tryClose()) {
    for (;;) {
      const key = r.string();
      r.sp();
      const value = r.nstring();
      if (key.length > 30) r.fail("ID field name longer than 30 octets");
      if (value !== null && Buffer.byteLength(value) > 1024) r.fail("ID value longer than 1024 octets");
      params.push([key, value]);
      if (params.length > 30) r.fail("More than 30 ID fields");
      if (r.tryClose()) break;
      r.sp();
    }
  }
  r.end();
  return { type: "id", params };
}
