// QUOTA (RFC 9208 §4.1): GETQUOTA (§4.1.1), GETQUOTAROOT (§4.1.2), SETQUOTA (§4.1.3):
//   setquota = "SETQUOTA" SP quota-root-name SP setquota-list
//   setquota-list = "(" [setquota-resource *(SP setquota-resource)] ")"
//   setquota-resource = resource-name SP resource-limit
import type { ArgReader } from "../args.ts";

export interface GetQuotaArgs {
  type: "getquota";
  root: string;
}

export interface GetQuotaRootArgs {
  type: "getquotaroot";
  mailbox: string;
}

export interface SetQuotaArgs {
  type: "setquota";
  root: string;
  /** Upper-cased resource names (STORAGE, MESSAGE, MAILBOX, ANNOTATION-STORAGE) with limits. */
  limits: Array<{ resource: string; limit: number }>;
}

export function parseGetQuota(r: ArgReader): GetQuotaArgs {
  r.sp();
  const root = r.astring("a quota root");
  r.end();
  return { type: "getquota", root };
}

export function parseGetQuotaRoot(r: ArgReader): GetQuotaRootArgs {
  r.sp();
  const mailbox = r.mailbox();
  r.end();
  return { type: "getquotaroot", mailbox };
}

export function parseSetQuota(r: ArgReader): SetQuotaArgs {
  r.sp();
  const root = r.astring("a quota root");
  r.sp();
  r.open();
  const limits: SetQuotaArgs["limits"] = [];
  if (!r.tryClose()) {
    for (;;) {
      const resource = r.keyword("a resource name");
      r.sp();
      limits.push({ resource, limit: r.number64("a resource limit") });
      if (r.tryClose()) break;
      r.sp();
    }
  }
  r.end();
  return { type: "setquota", root, limits };
}
