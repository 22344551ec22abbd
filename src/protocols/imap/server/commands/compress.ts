// RFC 4978 COMPRESS DEFLATE: after the tagged OK both directions are raw DEFLATE; a second
// COMPRESS is NO [COMPRESSIONACTIVE]; another algorithm is NO (RFC 4978 §3). A listener can
// leave it out of CAPABILITY (listeners.<name>.compress = false); the command is then BAD.
import type { CompressArgs } from "../../wire/index.ts";
import { command, AUTHED } from "../command.ts";
import { bad, no } from "../errors.ts";

export const compress = command<CompressArgs>({
  name: "COMPRESS",
  states: AUTHED,
  async handle(s, args) {
    // Not offered on this listener (listeners.<name>.compress = false): as unknown.
    if (!s.compressAvailable()) throw bad("COMPRESS is not offered here");
    if (s.compressed) throw no("COMPRESSIONACTIVE", "DEFLATE is active already");
    if (args.algorithm !== "DEFLATE") throw no("CANNOT", `Unknown compression algorithm ${args.algorithm}`);
    return { text: "DEFLATE active", skipUpdates: true, after: async () => s.startCompression() };
  },
});
