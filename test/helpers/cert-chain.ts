// A certificate chain for TLS tests: a test CA (EC P-256) and leaves it signs for given DNS
// names, as PEM; DANE-TA tests match the CA, DANE-EE and PKIX tests the leaf.
import { generate } from "selfsigned";

export interface PemPair {
  cert: string;
  key: string;
}

export async function testCa(commonName = "Mailroom test CA"): Promise<PemPair> {
  const pems = await generate([{ name: "commonName", value: commonName }], {
    keyType: "ec",
    curve: "P-256",
    algorithm: "sha256",
    extensions: [
      { name: "basicConstraints", cA: true, critical: true },
      { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/** A leaf for `names` (the first is the common name) signed by `ca`. */
export async function testLeaf(ca: PemPair, names: readonly string[]): Promise<PemPair> {
  const pems = await generate([{ name: "commonName", value: names[0]! }], {
    keyType: "ec",
    curve: "P-256",
    algorithm: "sha256",
    ca,
    extensions: [{ name: "subjectAltName", altNames: names.map((value) => ({ type: 2, value })) }],
  });
  return { cert: pems.cert, key: pems.private };
}

/** The PEM a server presents: leaf then CA. */
export function chainPem(leaf: PemPair, ca: PemPair): string {
  return `${leaf.cert.trim()}\n${ca.cert.trim()}\n`;
}
