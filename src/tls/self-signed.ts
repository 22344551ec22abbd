// The certificate used when none is configured: self-signed for server.hostname, generated
// on first start under <dataDir>/tls/ and reused afterwards (regenerated only when the host
// name changed or it is about to expire). Clients will not trust it: it is there so that
// STARTTLS and implicit TLS work out of the box and an operator can install a real one later.
import { X509Certificate } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { isIP } from "node:net";
import { join } from "node:path";
import { generate } from "selfsigned";

export interface PemPair {
  cert: string;
  key: string;
}

export const SELF_SIGNED_CERT = "selfsigned.crt";
export const SELF_SIGNED_KEY = "selfsigned.key";

const DAY = 24 * 3600 * 1000;
const VALIDITY_YEARS = 10;

/** Whether a stored certificate still fits: names the host and is valid for 30 more days. */
function usable(pem: PemPair, hostname: string, now: number): boolean {
  try {
    const x = new X509Certificate(pem.cert);
    const fits =
      isIP(hostname) !== 0 ? x.checkIP(hostname) !== undefined : x.checkHost(hostname) !== undefined;
    return fits && Date.parse(x.validTo) > now + 30 * DAY;
  } catch {
    return false;
  }
}

/** Generate a self-signed ECDSA P-256 certificate for `hostname`, valid ten years. */
export async function generateSelfSigned(hostname: string, now = Date.now()): Promise<PemPair> {
  const altNames: { type: 2 | 7; value?: string; ip?: string }[] =
    isIP(hostname) !== 0 ? [{ type: 7, ip: hostname }] : [{ type: 2, value: hostname }];
  if (hostname === "localhost") altNames.push({ type: 7, ip: "127.0.0.1" }, { type: 7, ip: "::1" });
  const notBefore = new Date(now - DAY);
  const notAfter = new Date(now);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + VALIDITY_YEARS);
  const pems = await generate([{ name: "commonName", value: hostname }], {
    keyType: "ec",
    curve: "P-256",
    algorithm: "sha256",
    notBeforeDate: notBefore,
    notAfterDate: notAfter,
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, critical: true },
      { name: "extKeyUsage", serverAuth: true },
      { name: "subjectAltName", altNames },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/** The self-signed certificate under `tlsDir`, generated and saved if missing or unfit. */
export async function loadOrCreateSelfSigned(
  tlsDir: string,
  hostname: string,
  now = Date.now(),
): Promise<PemPair & { created: boolean }> {
  const certPath = join(tlsDir, SELF_SIGNED_CERT);
  const keyPath = join(tlsDir, SELF_SIGNED_KEY);
  try {
    const pem = { cert: await readFile(certPath, "utf8"), key: await readFile(keyPath, "utf8") };
    if (usable(pem, hostname, now)) return { ...pem, created: false };
  } catch {
    // missing or unreadable: generate below
  }
  const pem = await generateSelfSigned(hostname, now);
  await mkdir(tlsDir, { recursive: true, mode: 0o700 });
  // Write beside and rename, so a crash never leaves a half-written pair.
  await writeFile(`${keyPath}.tmp`, pem.key, { mode: 0o600 });
  await writeFile(`${certPath}.tmp`, pem.cert, { mode: 0o644 });
  await rename(`${keyPath}.tmp`, keyPath);
  await rename(`${certPath}.tmp`, certPath);
  return { ...pem, created: true };
}
