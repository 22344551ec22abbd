// Small helpers shared by the CLI commands: usage errors, tables, sizes, address checks.
import { domainToASCII } from "node:url";

/** A mistake in the command line itself (exit code 2). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export function printTable(rows: string[][], out: NodeJS.WritableStream = process.stdout): void {
  if (rows.length === 0) return;
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  for (const r of rows) {
    out.write(
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
        .join("  ")
        .trimEnd() + "\n",
    );
  }
}

const UNITS: Record<string, number> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** "unlimited"/"none" → null; "500M", "2G", "1048576" → bytes. */
export function parseSize(text: string): number | null {
  const t = text.trim().toLowerCase();
  if (t === "unlimited" || t === "none" || t === "0") return null;
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/.exec(t);
  if (!m) throw new UsageError(`not a size: ${JSON.stringify(text)} (examples: 500M, 2G, unlimited)`);
  return Math.round(Number(m[1]) * (UNITS[m[2] ?? ""] ?? 1));
}

/** "unlimited"/"none" → null; a whole number otherwise. */
export function parseCount(text: string): number | null {
  const t = text.trim().toLowerCase();
  if (t === "unlimited" || t === "none" || t === "0") return null;
  if (!/^\d+$/.test(t)) throw new UsageError(`not a count: ${JSON.stringify(text)}`);
  return Number(t);
}

export function formatSize(n: number | null): string {
  if (n === null) return "unlimited";
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

/** A domain name as stored: lower-case A-labels (RFC 5890); throws UsageError when invalid. */
export function normalizeDomain(name: string): string {
  const ascii = domainToASCII(name.trim().replace(/\.$/, ""));
  if (!ascii || !/^[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(ascii)) {
    throw new UsageError(`not a valid domain name: ${JSON.stringify(name)}`);
  }
  return ascii;
}

/** "Local@Domain" → "Local@domain" with the domain as A-labels; the local part is kept. */
export function normalizeAddress(address: string): string {
  const a = address.trim();
  const at = a.lastIndexOf("@");
  if (at <= 0 || at === a.length - 1) throw new UsageError(`not an address: ${JSON.stringify(address)}`);
  const local = a.slice(0, at);
  if (/[\s<>()\[\],;:\\"]/.test(local) && !/^".*"$/.test(local)) {
    throw new UsageError(`not an address: ${JSON.stringify(address)}`);
  }
  return `${local.toLowerCase()}@${normalizeDomain(a.slice(at + 1))}`;
}
