// Certificates for every TLS listener and for STARTTLS. The default certificate comes from
// tls.certFile/keyFile, or is self-signed for the host name when none is configured; further
// certificates are chosen by the server name the client sends (SNI, RFC 6066 §3). Files are
// watched and reloaded after renewal; a broken new file is logged and the old one kept.
//
// RFC 8996 / RFC 8997: TLS 1.0 and 1.1 are refused; TLS 1.2 is the minimum.
import { X509Certificate } from "node:crypto";
import { watch, type FSWatcher } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, dirname, resolve } from "node:path";
import { createSecureContext, type SecureContext, type SecureVersion, type TlsOptions } from "node:tls";
import type { Logger } from "../core/logger.ts";
import { loadOrCreateSelfSigned, type PemPair } from "./self-signed.ts";

export interface TlsSettings {
  certFile: string;
  keyFile: string;
  certificates: { names: string[]; certFile: string; keyFile: string }[];
  minVersion: "TLSv1.2" | "TLSv1.3";
  watch: boolean;
}

export interface TlsProviderOptions {
  settings: TlsSettings;
  /** server.hostname: the name of the self-signed certificate. */
  hostname: string;
  /** Where the self-signed certificate is kept (<dataDir>/tls). */
  tlsDir: string;
  logger?: Logger | undefined;
}

/** What a certificate in use covers, for logs and the admin pages. */
export interface CertificateInfo {
  /** SNI names it is chosen for ("*" for the default). */
  names: string[];
  subject: string;
  subjectAltName: string;
  validTo: string;
  fingerprint256: string;
  source: "file" | "self-signed" | "pem";
}

interface Entry {
  names: string[];
  ctx: SecureContext;
  info: CertificateInfo;
}

export type SniCallback = (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void) => void;

/** Does `pattern` (a name or "*.domain") match `name`? A wildcard covers exactly one label (RFC 6125 §6.4.3). */
export function matchServerName(pattern: string, name: string): boolean {
  const p = pattern.toLowerCase().replace(/\.$/, "");
  const n = name.toLowerCase().replace(/\.$/, "");
  if (!p.startsWith("*.")) return p === n;
  const dot = n.indexOf(".");
  return dot > 0 && n.slice(dot + 1) === p.slice(2);
}

function describe(pem: PemPair, names: string[], source: CertificateInfo["source"]): CertificateInfo {
  const x = new X509Certificate(pem.cert);
  return {
    names,
    subject: x.subject,
    subjectAltName: x.subjectAltName ?? "",
    validTo: x.validTo,
    fingerprint256: x.fingerprint256,
    source,
  };
}

export class TlsProvider {
  readonly minVersion: SecureVersion;
  readonly #opts: TlsProviderOptions | undefined;
  #default: Entry;
  #sni: Entry[];
  #watchers: FSWatcher[] = [];
  #reloadTimer: NodeJS.Timeout | undefined;

  private constructor(minVersion: SecureVersion, def: Entry, sni: Entry[], opts?: TlsProviderOptions) {
    this.minVersion = minVersion;
    this.#default = def;
    this.#sni = sni;
    this.#opts = opts;
  }

  /** Load the configured certificates (or the self-signed one). Throws when a file is unusable. */
  static async create(opts: TlsProviderOptions): Promise<TlsProvider> {
    const { def, sni } = await TlsProvider.#load(opts);
    const p = new TlsProvider(opts.settings.minVersion, def, sni, opts);
    if (opts.settings.watch) p.#watch();
    return p;
  }

  /** A provider from PEM strings (tests, embedding). */
  static fromPem(
    pem: PemPair,
    opts: { minVersion?: SecureVersion; sni?: { names: string[]; cert: string; key: string }[] } = {},
  ): TlsProvider {
    const min = opts.minVersion ?? "TLSv1.2";
    const def = TlsProvider.#entry(pem, ["*"], "pem", min);
    const sni = (opts.sni ?? []).map((s) => TlsProvider.#entry(s, s.names, "pem", min));
    return new TlsProvider(min, def, sni);
  }

  static #entry(
    pem: PemPair,
    names: string[],
    source: CertificateInfo["source"],
    minVersion: SecureVersion,
  ): Entry {
    // createSecureContext checks that the key matches the certificate.
    const ctx = createSecureContext({ cert: pem.cert, key: pem.key, minVersion });
    return { names, ctx, info: describe(pem, names, source) };
  }

  static async #readPair(certFile: string, keyFile: string): Promise<PemPair> {
    try {
      return { cert: await readFile(certFile, "utf8"), key: await readFile(keyFile, "utf8") };
    } catch (e) {
      throw new Error(`cannot read certificate ${certFile} / key ${keyFile}: ${(e as Error).message}`, {
        cause: e,
      });
    }
  }

  static async #load(opts: TlsProviderOptions): Promise<{ def: Entry; sni: Entry[] }> {
    const s = opts.settings;
    const min = s.minVersion;
    const build = (pem: PemPair, names: string[], source: CertificateInfo["source"], what: string): Entry => {
      try {
        return TlsProvider.#entry(pem, names, source, min);
      } catch (e) {
        throw new Error(`unusable certificate ${what}: ${(e as Error).message}`, { cause: e });
      }
    };
    let def: Entry;
    if (s.certFile !== "" || s.keyFile !== "") {
      if (s.certFile === "" || s.keyFile === "")
        throw new Error("tls.certFile and tls.keyFile must be set together");
      def = build(await TlsProvider.#readPair(s.certFile, s.keyFile), ["*"], "file", s.certFile);
    } else {
      const pem = await loadOrCreateSelfSigned(opts.tlsDir, opts.hostname);
      if (pem.created)
        opts.logger?.info(
          { dir: opts.tlsDir, hostname: opts.hostname },
          "generated a self-signed certificate",
        );
      def = build(pem, ["*"], "self-signed", opts.tlsDir);
    }
    const sni: Entry[] = [];
    for (const c of s.certificates) {
      sni.push(build(await TlsProvider.#readPair(c.certFile, c.keyFile), c.names, "file", c.certFile));
    }
    return { def, sni };
  }

  /** Re-read the certificate files. On error the current certificates stay and the error is thrown. */
  async reload(): Promise<void> {
    if (this.#opts === undefined) return;
    const { def, sni } = await TlsProvider.#load(this.#opts);
    this.#default = def;
    this.#sni = sni;
    this.#opts.logger?.info(
      { certificates: this.certificates().map((c) => c.names.join(",")) },
      "certificates reloaded",
    );
  }

  /** The context for a server name: an exact name first, then a wildcard, then the default. */
  contextFor(servername: string | undefined): SecureContext {
    if (servername !== undefined && servername !== "") {
      const exact = this.#sni.find((e) =>
        e.names.some((n) => !n.startsWith("*.") && matchServerName(n, servername)),
      );
      if (exact !== undefined) return exact.ctx;
      const wild = this.#sni.find((e) => e.names.some((n) => matchServerName(n, servername)));
      if (wild !== undefined) return wild.ctx;
    }
    return this.#default.ctx;
  }

  /** For tls.TLSSocket / tls.createServer / https.createServer `SNICallback`. */
  readonly sniCallback: SniCallback = (servername, cb) => {
    cb(null, this.contextFor(servername));
  };

  /** Options for a server-side TLS socket or server: SNI selection and the version floor. */
  serverOptions(): TlsOptions {
    return {
      secureContext: this.#default.ctx,
      SNICallback: this.sniCallback,
      minVersion: this.minVersion,
    };
  }

  /** The certificates in use, default first. */
  certificates(): CertificateInfo[] {
    return [this.#default.info, ...this.#sni.map((e) => e.info)];
  }

  #watch(): void {
    const opts = this.#opts;
    if (opts === undefined) return;
    const s = opts.settings;
    const files = [s.certFile, s.keyFile, ...s.certificates.flatMap((c) => [c.certFile, c.keyFile])].filter(
      (f) => f !== "",
    );
    // Watch the folders, not the files: renewal tools replace files by renaming.
    const byDir = new Map<string, Set<string>>();
    for (const f of files) {
      const abs = resolve(f);
      const set = byDir.get(dirname(abs)) ?? new Set<string>();
      set.add(basename(abs));
      byDir.set(dirname(abs), set);
    }
    for (const [dir, names] of byDir) {
      try {
        const w = watch(dir, { persistent: false }, (_event, filename) => {
          if (filename !== null && names.has(filename.toString())) this.#scheduleReload();
        });
        w.on("error", (e) => opts.logger?.warn({ dir, err: e.message }, "certificate watch failed"));
        this.#watchers.push(w);
      } catch (e) {
        opts.logger?.warn({ dir, err: (e as Error).message }, "cannot watch certificate folder");
      }
    }
  }

  #scheduleReload(): void {
    if (this.#reloadTimer !== undefined) clearTimeout(this.#reloadTimer);
    // Wait for the writer to finish both files.
    this.#reloadTimer = setTimeout(() => {
      this.#reloadTimer = undefined;
      this.reload().catch((e: unknown) =>
        this.#opts?.logger?.error(
          { err: (e as Error).message },
          "certificate reload failed, keeping the current ones",
        ),
      );
    }, 300);
    this.#reloadTimer.unref();
  }

  /** Stop watching files. */
  close(): void {
    for (const w of this.#watchers) w.close();
    this.#watchers = [];
    if (this.#reloadTimer !== undefined) clearTimeout(this.#reloadTimer);
  }
}
