// The outbound SMTP client (RFC 5321 client side) on the SMTP wire layer: greeting, EHLO with
// HELO fallback, STARTTLS per policy (RFC 3207), AUTH for smart hosts (RFC 4954), then any
// number of transactions on the one connection: PIPELINING (RFC 2920), SIZE (RFC 1870),
// 8BITMIME (RFC 6152), CHUNKING/BINARYMIME (RFC 3030), SMTPUTF8 (RFC 6531), DSN (RFC 3461),
// REQUIRETLS (RFC 8689). Replies map to outcomes: 2xx done, 4xx temporary, 5xx permanent
// (RFC 5321 §4.2.1); a 421 anywhere ends the session (RFC 5321 §3.8).
import { connect as netConnect, type Socket } from "node:net";
import { encodeBdat } from "../wire/bdat.ts";
import { DotStuffer } from "../wire/data.ts";
import { parseEhlo, type EhloInfo } from "../wire/ehlo.ts";
import type { ParsedReply } from "../wire/replies.ts";
import { authenticate } from "./auth.ts";
import { Connection, WRITE_BLOCK, replyInfo } from "./connection.ts";
import { prepareTransaction, type PreparedTransaction } from "./envelope.ts";
import { upgradeToTls } from "./tls.ts";
import {
  DEFAULT_TIMEOUTS,
  SmtpClientError,
  type ClientOptions,
  type ClientPhase,
  type OutboundParams,
  type OutboundRecipient,
  type RecipientOutcome,
  type ReplyInfo,
  type SendOutcome,
  type SmtpDialer,
  type Timeouts,
  type TlsInfo,
} from "./types.ts";

/** BDAT chunks (RFC 3030 §2) are at most this big; most messages go in one BDAT LAST. */
export const BDAT_CHUNK = 4 * 1024 * 1024;

/** The plain TCP dialer (node:net) with a connect time limit. */
export const tcpDialer: SmtpDialer = {
  connect(host, port, opts) {
    return new Promise<Socket>((resolve, reject) => {
      const s = netConnect({
        host,
        port,
        ...(opts.localAddress !== undefined ? { localAddress: opts.localAddress } : {}),
      });
      const timer = setTimeout(() => {
        s.destroy();
        reject(
          new SmtpClientError("connect", `connect to ${host}:${port} timed out after ${opts.timeoutMs} ms`),
        );
      }, opts.timeoutMs);
      s.once("connect", () => {
        clearTimeout(timer);
        s.removeAllListeners("error");
        s.on("error", () => undefined); // until the Connection listens (it reports errors)
        resolve(s);
      });
      s.once("error", (e: Error) => {
        clearTimeout(timer);
        s.destroy();
        reject(
          new SmtpClientError("connect", `connect to ${host}:${port} failed: ${e.message}`, { cause: e }),
        );
      });
    });
  },
};

/** Any thrown value as an SmtpClientError (programming errors become a temporary failure). */
function asClientError(e: unknown, phase: ClientPhase): SmtpClientError {
  if (e instanceof SmtpClientError) return e;
  return new SmtpClientError(phase, e instanceof Error ? e.message : String(e), { cause: e });
}

function replyError(phase: ClientPhase, r: ParsedReply, what: string): SmtpClientError {
  const info = replyInfo(r);
  return new SmtpClientError(phase, `${what}: ${info.code} ${info.enhanced ?? ""} ${info.text}`.trim(), {
    reply: info,
  });
}

/** RFC 5321 §3.8: a 421 closes the session whatever command it answers. */
function check421(phase: ClientPhase, r: ParsedReply): void {
  if (r.code === 421) throw replyError(phase, r, "service closing the channel");
}

const HELO_RE = /^[\x21-\x7e]+$/;

/** Transaction failures that leave the session in a known state (RSET makes it clean). */
const softFailures = new WeakSet<SmtpClientError>();

function soft(e: SmtpClientError): SmtpClientError {
  softFailures.add(e);
  return e;
}

function outcome(address: string, reply: ReplyInfo, afterData: boolean): RecipientOutcome {
  const ok = reply.code >= 200 && reply.code < 300;
  return { address, reply, delivered: afterData && ok, permanent: reply.code >= 500 };
}

export class SmtpClient {
  readonly #conn: Connection;
  readonly #opts: ClientOptions;
  readonly #t: Timeouts;
  #ehlo: EhloInfo;
  #tls: TlsInfo;
  readonly #remote: string;
  #transactions = 0;
  #busy = false;

  private constructor(conn: Connection, opts: ClientOptions, t: Timeouts, ehlo: EhloInfo, tls: TlsInfo) {
    this.#conn = conn;
    this.#opts = opts;
    this.#t = t;
    this.#ehlo = ehlo;
    this.#tls = tls;
    this.#remote = conn.socket.remoteAddress ?? opts.host;
  }

  /** The peer's EHLO answer (after STARTTLS, the one given over TLS; RFC 3207 §4.2). */
  get capabilities(): EhloInfo {
    return this.#ehlo;
  }

  get tls(): TlsInfo {
    return this.#tls;
  }

  get remoteAddress(): string {
    return this.#remote;
  }

  /** Open, idle, and under the peer's MAILMAX (RFC 9422 §4.1). */
  get usable(): boolean {
    const max = this.#ehlo.capabilities.limits?.mailMax;
    return !this.#conn.closed && !this.#busy && (max === undefined || max === 0 || this.#transactions < max);
  }

  /** Greeting, EHLO (HELO fallback on 5xx), STARTTLS per policy then EHLO again, AUTH if asked. */
  static async connect(opts: ClientOptions): Promise<SmtpClient> {
    const t: Timeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
    if (!HELO_RE.test(opts.helo))
      throw new SmtpClientError("ehlo", `bad EHLO name ${JSON.stringify(opts.helo)}`, { permanent: true });
    const dialer = opts.dialer ?? tcpDialer;
    let socket: Socket;
    try {
      socket = await dialer.connect(opts.host, opts.port, {
        timeoutMs: t.connectMs,
        ...(opts.localAddress !== undefined ? { localAddress: opts.localAddress } : {}),
      });
    } catch (e) {
      throw asClientError(e, "connect");
    }
    const conn = new Connection(socket);
    try {
      conn.expect(1);
      const greeting = await conn.read({ phase: "greeting", timeoutMs: t.greetingMs });
      // RFC 5321 §3.1: 220 opens the session; 554 refuses it (permanent), 4xx defers.
      if (greeting.code !== 220) throw replyError("greeting", greeting, "greeting refused");
      let ehlo = await hello(conn, opts.helo, t.ehloMs);
      let tls: TlsInfo = { established: false, authorized: false };
      const policy = opts.tls;
      if (policy.mode !== "none") {
        if (ehlo.capabilities.startTls === true) {
          conn.holdAfterNextReply();
          const r = await command(conn, "STARTTLS\r\n", "starttls", t.ehloMs);
          if (r.code === 220) {
            tls = await upgradeToTls(conn, policy, t.ehloMs);
            // RFC 3207 §4.2: forget what was learnt in clear and ask again.
            ehlo = await hello(conn, opts.helo, t.ehloMs);
          } else if (policy.mode === "required")
            throw new SmtpClientError("starttls", `STARTTLS refused: ${r.code} ${r.lines.join(" ")}`, {
              reply: replyInfo(r),
              permanent: false,
              tlsFailure: true,
            });
          // RFC 7435 §3: opportunistic TLS falls back to clear text when STARTTLS is refused.
        } else if (policy.mode === "required") {
          throw new SmtpClientError("starttls", "the server does not offer STARTTLS", { tlsFailure: true });
        }
      }
      if (opts.auth !== undefined)
        await authenticate(conn, ehlo.capabilities, opts.auth, tls.established, t.ehloMs);
      return new SmtpClient(conn, opts, t, ehlo, tls);
    } catch (e) {
      const err = asClientError(e, "closed");
      conn.fail(err);
      throw err;
    }
  }

  /**
   * One transaction: RSET first when not the first on this connection. Recipients refused at
   * RCPT get their reply; when none is accepted no data is sent. Rejects with SmtpClientError
   * when no recipient got an answer: a local refusal (SIZE, 8BITMIME, SMTPUTF8, REQUIRETLS),
   * MAIL refused, or the session lost (timeout, close, 421, broken reply); after the last
   * three the client is no longer usable.
   */
  async send(
    from: string,
    recipients: OutboundRecipient[],
    params: OutboundParams,
    message: Buffer,
  ): Promise<SendOutcome> {
    if (this.#conn.closed) throw this.#conn.failure ?? new SmtpClientError("closed", "the session is over");
    if (this.#busy) throw new SmtpClientError("mail", "a transaction is already running on this connection");
    this.#busy = true;
    try {
      // A reply that arrived while idle (RFC 5321 §4.5.3.2.7 timeout 421, or junk) would be
      // taken as the answer to our next command: the session is out of step, or closing.
      const stray = this.#conn.takeQueued();
      if (stray !== undefined) {
        check421("mail", stray);
        throw replyError("mail", stray, "reply received while idle");
      }
      return await this.#transaction(from, recipients, params, message);
    } catch (e) {
      const err = asClientError(e, "closed");
      if (!softFailures.has(err)) this.#conn.fail(err);
      throw err;
    } finally {
      this.#busy = false;
    }
  }

  async #transaction(
    from: string,
    recipients: OutboundRecipient[],
    params: OutboundParams,
    message: Buffer,
  ): Promise<SendOutcome> {
    let prepared: PreparedTransaction;
    try {
      prepared = prepareTransaction(
        {
          capabilities: this.#ehlo.capabilities,
          verifiedTls: this.#tls.established && this.#opts.tls.mode === "required",
        },
        from,
        recipients,
        params,
        message,
      );
    } catch (e) {
      throw soft(asClientError(e, "mail"));
    }
    const out: (RecipientOutcome | undefined)[] = recipients.map(() => undefined);
    for (const [i, reply] of prepared.local) out[i] = outcome(recipients[i]?.address ?? "", reply, false);
    const done = (): SendOutcome => ({ recipients: out.map((o) => o as RecipientOutcome) });
    if (prepared.rcpts.length === 0) return done();

    const accepted = await this.#envelope(prepared, recipients, out);
    if (accepted.length === 0) return done();
    const final = prepared.useBdat ? await this.#bdat(prepared.body) : await this.#data(prepared.body);
    const info = replyInfo(final);
    for (const i of accepted) out[i] = outcome(recipients[i]?.address ?? "", info, true);
    return done();
  }

  /** RSET, MAIL and the RCPTs, pipelined when offered (RFC 2920 §3.1). Answers the accepted. */
  async #envelope(
    prepared: PreparedTransaction,
    recipients: OutboundRecipient[],
    out: (RecipientOutcome | undefined)[],
  ): Promise<number[]> {
    const conn = this.#conn;
    const t = this.#t;
    const rset = this.#transactions > 0;
    this.#transactions++;
    const pipelining = this.#ehlo.capabilities.pipelining === true;
    const lines = [...(rset ? ["RSET\r\n"] : []), prepared.mailLine, ...prepared.rcpts.map((r) => r.line)];
    if (pipelining) {
      // RFC 2920 §3.1: RSET, MAIL and RCPT may all go in one group; DATA/BDAT waits for them.
      conn.expect(lines.length);
      await conn.write(lines.join(""), { phase: "mail", timeoutMs: t.mailMs });
    }
    const next = async (line: string, phase: ClientPhase, timeoutMs: number): Promise<ParsedReply> => {
      if (pipelining) return conn.read({ phase, timeoutMs });
      return command(conn, line, phase, timeoutMs);
    };
    if (rset) {
      const r = await next("RSET\r\n", "mail", t.mailMs);
      check421("mail", r);
      // RFC 5321 §4.1.1.5: RSET must succeed; a server that refuses it is out of step.
      if (r.code !== 250) throw replyError("mail", r, "RSET refused");
    }
    const mail = await next(prepared.mailLine, "mail", t.mailMs);
    check421("mail", mail);
    const mailOk = isPositive(mail, "mail");
    if (!mailOk && !pipelining) throw soft(replyError("mail", mail, "MAIL FROM refused"));
    const accepted: number[] = [];
    for (const rc of prepared.rcpts) {
      const r = await next(rc.line, "rcpt", t.rcptMs);
      check421("rcpt", r);
      if (!mailOk) continue; // replies to RCPTs pipelined after a refused MAIL (RFC 2920 §3.2)
      if (isPositive(r, "rcpt")) accepted.push(rc.index);
      else out[rc.index] = outcome(recipients[rc.index]?.address ?? "", replyInfo(r), false);
    }
    if (!mailOk) throw soft(replyError("mail", mail, "MAIL FROM refused"));
    return accepted;
  }

  /** DATA (RFC 5321 §4.1.1.4): 354, the dot-stuffed message (§4.5.2), the final reply. */
  async #data(body: Buffer): Promise<ParsedReply> {
    const conn = this.#conn;
    const t = this.#t;
    const r = await command(conn, "DATA\r\n", "data", t.dataInitMs);
    check421("data", r);
    if (r.code !== 354) {
      isPositive(r, "data"); // a 2xx here is out of step: it throws
      return r;
    }
    const stuffer = new DotStuffer();
    const stuffed = stuffer.push(body);
    conn.expect(1);
    const block = { phase: "data", timeoutMs: t.dataBlockMs } as const;
    // A small message and its terminator go in one write (one segment, one syscall).
    if (stuffed.length <= WRITE_BLOCK) await conn.write(Buffer.concat([stuffed, stuffer.end()]), block);
    else {
      await conn.writeBlocks(stuffed, block);
      await conn.write(stuffer.end(), block);
    }
    const final = await conn.read({ phase: "data", timeoutMs: t.dataTermMs });
    check421("data", final);
    isPositive(final, "data");
    return final;
  }

  /** BDAT (RFC 3030 §2): the message in chunks, the last marked LAST; no stuffing. */
  async #bdat(body: Buffer): Promise<ParsedReply> {
    const conn = this.#conn;
    const t = this.#t;
    let offset = 0;
    for (;;) {
      const chunk = body.subarray(offset, offset + BDAT_CHUNK);
      offset += chunk.length;
      const last = offset >= body.length;
      conn.expect(1);
      if (chunk.length <= WRITE_BLOCK)
        await conn.write(encodeBdat(chunk, last), { phase: "data", timeoutMs: t.dataBlockMs });
      else {
        await conn.write(`BDAT ${chunk.length}${last ? " LAST" : ""}\r\n`, {
          phase: "data",
          timeoutMs: t.dataBlockMs,
        });
        await conn.writeBlocks(chunk, { phase: "data", timeoutMs: t.dataBlockMs });
      }
      const r = await conn.read({ phase: "data", timeoutMs: last ? t.dataTermMs : t.dataBlockMs });
      check421("data", r);
      // A refused chunk ends the transaction (RFC 3030 §2: later BDATs would get 503).
      if (last || !isPositive(r, "data")) return r;
    }
  }

  /** QUIT (RFC 5321 §4.1.1.10) and close; never rejects. */
  async quit(): Promise<void> {
    if (this.#conn.closed) return;
    if (this.#busy) {
      this.close();
      return;
    }
    try {
      await command(this.#conn, "QUIT\r\n", "quit", Math.min(this.#t.mailMs, 10_000));
    } catch {
      // The peer went away first: nothing to do.
    } finally {
      this.#conn.destroy();
    }
  }

  /** Drops the connection at once. */
  close(): void {
    this.#conn.destroy();
  }
}

/**
 * 2xx true, 4xx/5xx false; anything else (1xx, 3xx) is out of step with the command and ends
 * the session as a temporary failure.
 */
function isPositive(r: ParsedReply, phase: ClientPhase): boolean {
  if (r.code >= 200 && r.code < 300) return true;
  if (r.code >= 400 && r.code < 600) return false;
  throw replyError(phase, r, "unexpected reply");
}

/** Writes one command and reads its reply. */
async function command(
  conn: Connection,
  line: string,
  phase: ClientPhase,
  timeoutMs: number,
): Promise<ParsedReply> {
  conn.expect(1);
  await conn.write(line, { phase, timeoutMs });
  return conn.read({ phase, timeoutMs });
}

/**
 * EHLO, or HELO when EHLO gets a 5xx (RFC 5321 §3.2: a server without extensions answers EHLO
 * with an error and the client falls back to HELO).
 */
async function hello(conn: Connection, name: string, timeoutMs: number): Promise<EhloInfo> {
  const r = await command(conn, `EHLO ${name}\r\n`, "ehlo", timeoutMs);
  check421("ehlo", r);
  if (r.code === 250) {
    const info = parseEhlo(r);
    if (info === null) throw replyError("ehlo", r, "bad EHLO reply");
    return info;
  }
  if (r.code < 500 || r.code > 599) throw replyError("ehlo", r, "EHLO refused");
  const h = await command(conn, `HELO ${name}\r\n`, "ehlo", timeoutMs);
  check421("ehlo", h);
  if (h.code !== 250) throw replyError("ehlo", h, "HELO refused");
  const first = (h.lines[0] ?? "").trim();
  const sp = first.indexOf(" ");
  return {
    domain: sp < 0 ? first : first.slice(0, sp),
    greeting: sp < 0 ? "" : first.slice(sp + 1),
    capabilities: {},
  };
}
