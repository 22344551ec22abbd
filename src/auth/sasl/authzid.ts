// RFC 4422 §3.4.1: the authorization identity. Empty, or the authenticated name itself, means
// "act as myself"; anything else must be allowed by the backend (administrators only).
import { tryPrepareUsername } from "../saslprep.ts";
import type { AuthResult } from "../types.ts";
import type { MechanismDeps } from "./base.ts";
import type { Step } from "./types.ts";
import { fail } from "./types.ts";

export async function applyAuthzid(
  deps: MechanismDeps,
  result: AuthResult,
  authzid: string,
  data?: Buffer,
): Promise<Step> {
  const ok = (r: AuthResult): Step =>
    data ? { type: "success", result: r, data } : { type: "success", result: r };
  if (authzid === "") return ok(result);
  const prepared = tryPrepareUsername(authzid);
  if (prepared === null) return fail("malformed", "invalid authorization identity");
  if (prepared === result.username) return ok(result);
  const as = await deps.backend.authorize(deps.conn, result, prepared);
  if (!as) return fail("bad-credentials", "not authorized to act as that user");
  return ok(as);
}
