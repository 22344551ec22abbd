// COMPRESS (RFC 4978 §3): compress = "COMPRESS" SP algorithm; only DEFLATE is defined.
import type { ArgReader } from "../args.ts";

export interface CompressArgs {
  type: "compress";
  /** Upper-cased algorithm name; the server answers NO for anything but DEFLATE. */
  algorithm: string;
}

export function parseCompress(r: ArgReader): CompressArgs {
  r.sp();
  const algorithm = r.keyword("a compression algorithm");
  r.end();
  return { type: "compress", algorithm };
}
