// Progress of a long import or export. On a terminal: one bar redrawn in place (at most every
// `redrawMs`, ~10 times a second), with messages, bytes of the total when known, rate and ETA.
// Elsewhere (logs, pipes): a plain line every `intervalMs` or `everyMessages`, like
//   import: 5000 messages, 102.4 MB, 1834 msg/s
// and in both cases a summary line at the end. It sets no timer: it draws when told of work.

/** What the reporter writes to: process.stderr by default. */
export interface ProgressStream {
  write(s: string): boolean;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** First word of every line: "import", "export". */
  label: string;
  stream?: ProgressStream;
  /** Draw an in-place bar; default: whether the stream is a TTY. */
  tty?: boolean;
  totalMessages?: number | null;
  totalBytes?: number | null;
  /** TTY: least time between redraws. Default 100 ms. */
  redrawMs?: number;
  /** Plain: a line at least this often while work is reported. Default 5000 ms. */
  intervalMs?: number;
  /** Plain: a line every this many messages too. Default 10000. */
  everyMessages?: number;
  /** Clock in ms (tests inject one). */
  now?: () => number;
}

/** "512 B", "12.3 kB", "102.4 MB", "1.2 GB" (SI units). */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let v = n / 1000;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

/** "45s", "3m05s", "2h07m". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

interface Sample {
  t: number;
  messages: number;
  bytes: number;
}

const WINDOW_MS = 5000;

export class ProgressReporter {
  readonly #label: string;
  readonly #stream: ProgressStream;
  readonly #tty: boolean;
  readonly #redrawMs: number;
  readonly #intervalMs: number;
  readonly #everyMessages: number;
  readonly #now: () => number;
  readonly #start: number;
  #totalMessages: number | null;
  #totalBytes: number | null;
  #messages = 0;
  #bytes = 0;
  #failed = 0;
  #lastDraw = -Infinity;
  #lastLineMessages = 0;
  #barShown = false;
  #finished = false;
  #samples: Sample[] = [];

  constructor(opts: ProgressOptions) {
    this.#label = opts.label;
    this.#stream = opts.stream ?? process.stderr;
    this.#tty = opts.tty ?? this.#stream.isTTY === true;
    this.#redrawMs = opts.redrawMs ?? 100;
    this.#intervalMs = opts.intervalMs ?? 5000;
    this.#everyMessages = opts.everyMessages ?? 10_000;
    this.#now = opts.now ?? Date.now;
    this.#totalMessages = opts.totalMessages ?? null;
    this.#totalBytes = opts.totalBytes ?? null;
    this.#start = this.#now();
    this.#lastDraw = this.#tty ? -Infinity : this.#start;
    this.#samples.push({ t: this.#start, messages: 0, bytes: 0 });
  }

  get messages(): number {
    return this.#messages;
  }
  get bytes(): number {
    return this.#bytes;
  }
  get failed(): number {
    return this.#failed;
  }

  /** Sets or corrects the totals (e.g. once a directory walk has counted them). */
  setTotal(total: { messages?: number | null; bytes?: number | null }): void {
    if (total.messages !== undefined) this.#totalMessages = total.messages;
    if (total.bytes !== undefined) this.#totalBytes = total.bytes;
  }

  /** Reports finished work: `messages` more messages, `bytes` more bytes (of the input). */
  add(messages = 1, bytes = 0): void {
    this.#messages += messages;
    this.#bytes += bytes;
    this.#maybeDraw();
  }

  /** Reports messages that failed (counted apart, shown in the lines and the summary). */
  fail(messages = 1): void {
    this.#failed += messages;
    this.#maybeDraw();
  }

  /** Writes a line of its own (a warning, an error) without breaking the bar. */
  note(line: string): void {
    if (this.#tty && this.#barShown) this.#stream.write("\r\x1b[2K");
    this.#stream.write(line.endsWith("\n") ? line : line + "\n");
    if (this.#tty && this.#barShown && !this.#finished) this.#drawBar(this.#now());
  }

  /** Writes the summary line (and clears the bar); returns it, without line ending. */
  finish(note?: string): string {
    const now = this.#now();
    const elapsed = Math.max(1, now - this.#start);
    let line = `${this.#label}: done, ${this.#messages} messages, ${formatBytes(this.#bytes)} in ${(elapsed / 1000).toFixed(1)} s`;
    line += ` (${Math.round((this.#messages * 1000) / elapsed)} msg/s, ${formatBytes(Math.round((this.#bytes * 1000) / elapsed))}/s)`;
    if (this.#failed > 0) line += `, ${this.#failed} failed`;
    if (note) line += `, ${note}`;
    if (this.#finished) return line;
    this.#finished = true;
    if (this.#tty && this.#barShown) this.#stream.write("\r\x1b[2K");
    this.#stream.write(line + "\n");
    return line;
  }

  #maybeDraw(): void {
    if (this.#finished) return;
    const now = this.#now();
    if (this.#tty) {
      if (now - this.#lastDraw >= this.#redrawMs) this.#drawBar(now);
    } else if (
      now - this.#lastDraw >= this.#intervalMs ||
      this.#messages - this.#lastLineMessages >= this.#everyMessages
    ) {
      this.#lastDraw = now;
      this.#lastLineMessages = this.#messages;
      this.#sample(now);
      this.#stream.write(this.#plainLine(now) + "\n");
    }
  }

  #sample(now: number): void {
    this.#samples.push({ t: now, messages: this.#messages, bytes: this.#bytes });
    while (this.#samples.length > 2 && now - this.#samples[1]!.t > WINDOW_MS) this.#samples.shift();
  }

  /** Messages and bytes per second over the last few seconds (over the whole run at first). */
  #rates(now: number): { msgs: number; bytes: number } {
    const first = this.#samples[0]!;
    const dt = now - first.t;
    if (dt <= 0) return { msgs: 0, bytes: 0 };
    return {
      msgs: ((this.#messages - first.messages) * 1000) / dt,
      bytes: ((this.#bytes - first.bytes) * 1000) / dt,
    };
  }

  /** Fraction done and the time left, from bytes when their total is known, else from messages. */
  #progress(now: number): { fraction: number | null; eta: number | null } {
    const r = this.#rates(now);
    if (this.#totalBytes !== null && this.#totalBytes > 0) {
      const left = Math.max(0, this.#totalBytes - this.#bytes);
      return {
        fraction: Math.min(1, this.#bytes / this.#totalBytes),
        eta: r.bytes > 0 ? (left / r.bytes) * 1000 : null,
      };
    }
    if (this.#totalMessages !== null && this.#totalMessages > 0) {
      const left = Math.max(0, this.#totalMessages - this.#messages);
      return {
        fraction: Math.min(1, this.#messages / this.#totalMessages),
        eta: r.msgs > 0 ? (left / r.msgs) * 1000 : null,
      };
    }
    return { fraction: null, eta: null };
  }

  #plainLine(now: number): string {
    const r = this.#rates(now);
    let line = `${this.#label}: ${this.#messages} messages, ${formatBytes(this.#bytes)}, ${Math.round(r.msgs)} msg/s`;
    if (this.#failed > 0) line += `, ${this.#failed} failed`;
    const p = this.#progress(now);
    if (p.fraction !== null) line += `, ${(p.fraction * 100).toFixed(1)}%`;
    if (p.eta !== null) line += `, ETA ${formatDuration(p.eta)}`;
    return line;
  }

  #drawBar(now: number): void {
    this.#lastDraw = now;
    this.#sample(now);
    const r = this.#rates(now);
    const p = this.#progress(now);
    const msgs =
      this.#totalMessages !== null ? `${this.#messages}/${this.#totalMessages} msg` : `${this.#messages} msg`;
    const bytes =
      this.#totalBytes !== null
        ? `${formatBytes(this.#bytes)}/${formatBytes(this.#totalBytes)}`
        : formatBytes(this.#bytes);
    let tail = ` ${msgs}  ${bytes}  ${Math.round(r.msgs)} msg/s`;
    if (this.#failed > 0) tail += `  ${this.#failed} failed`;
    if (p.eta !== null) tail += `  ETA ${formatDuration(p.eta)}`;
    let head = `${this.#label} `;
    if (p.fraction !== null) {
      const width = 24;
      const full = Math.round(p.fraction * width);
      head += `[${"#".repeat(full)}${"-".repeat(width - full)}] ${String(Math.floor(p.fraction * 100)).padStart(3)}%`;
    }
    const columns = this.#stream.columns ?? 80;
    const line = (head + tail).slice(0, Math.max(10, columns - 1));
    this.#stream.write(`\r\x1b[2K${line}`);
    this.#barShown = true;
  }
}
