/**
 * Everything the CLI prints goes through Output: plain text for people, NDJSON under --json
 * (`{"type":"status"|"warning"|"error"|"summary"|…}` one object per line on stdout), progress
 * on stderr only when it is a terminal. Errors go to stderr in text mode.
 */
import type { Progress, ProgressState } from '../core/ports.js';

export interface OutputOptions {
  json: boolean;
  quiet: boolean;
  stdout?: NodeJS.WritableStream & { isTTY?: boolean };
  stderr?: NodeJS.WritableStream & { isTTY?: boolean };
}

export class Output {
  readonly json: boolean;
  readonly quiet: boolean;
  private readonly out: NodeJS.WritableStream;
  private readonly err: NodeJS.WritableStream & { isTTY?: boolean };
  private lastDraw = 0;
  private drawn = false;
  private readonly started = Date.now();

  constructor(opts: OutputOptions) {
    this.json = opts.json;
    this.quiet = opts.quiet;
    this.out = opts.stdout ?? process.stdout;
    this.err = opts.stderr ?? process.stderr;
  }

  /** A line of text for people (ignored under --json). */
  text(line: string): void {
    if (!this.json) this.out.write(line + '\n');
  }

  /** A message for people that is not the command's result (stderr, ignored under --quiet). */
  info(line: string): void {
    if (!this.json && !this.quiet) {
      this.clearProgress();
      this.err.write(line + '\n');
    }
  }

  /** One NDJSON record (ignored in text mode). */
  record(type: string, fields: Record<string, unknown>): void {
    // The record's own type always wins over a field that happens to be called "type".
    if (this.json) this.out.write(JSON.stringify({ ...fields, type }) + '\n');
  }

  warn(item: string, message: string): void {
    if (this.json) this.record('warning', { item, message });
    else {
      this.clearProgress();
      this.err.write(`warning: ${item}: ${message}\n`);
    }
  }

  error(code: string, message: string, details: Readonly<Record<string, unknown>>): void {
    this.clearProgress();
    if (this.json) this.record('error', { code, message, ...details });
    else this.err.write(`lifeboat: ${message}\n`);
  }

  /** A Progress port: a status line on a TTY, NDJSON status records at most twice a second. */
  /** Progress for long work: NDJSON status records or a TTY line; nothing under --quiet. */
  progress(): Progress {
    const shown = !this.quiet && (this.json || this.err.isTTY === true);
    return {
      update: shown ? (s) => this.drawProgress(s) : () => undefined,
      warn: (item, message) => this.warn(item, message),
      shown,
    };
  }

  clearProgress(): void {
    if (this.drawn) {
      this.err.write('\r\x1b[2K');
      this.drawn = false;
    }
  }

  private drawProgress(s: ProgressState): void {
    const now = Date.now();
    if (now - this.lastDraw < (this.json ? 500 : 100)) return;
    this.lastDraw = now;
    const elapsed = (now - this.started) / 1000;
    const rate = elapsed > 0 ? s.bytesDone / elapsed : 0;
    if (this.json) {
      this.record('status', { ...s, secondsElapsed: elapsed, bytesPerSecond: Math.round(rate) });
      return;
    }
    let line = `[${formatDuration(elapsed)}] ${s.phase}: ${s.filesDone}`;
    if (s.filesTotal !== undefined) line += `/${s.filesTotal}`;
    line += ` files, ${formatBytes(s.bytesDone)}`;
    if (s.bytesTotal !== undefined) line += `/${formatBytes(s.bytesTotal)}`;
    line += `, ${formatBytes(rate)}/s`;
    if (s.bytesTotal && rate > 0 && s.bytesDone < s.bytesTotal) {
      line += `, ETA ${formatDuration((s.bytesTotal - s.bytesDone) / rate)}`;
    }
    const width = (this.err as { columns?: number }).columns || 100;
    this.err.write('\r\x1b[2K' + line.slice(0, width - 1));
    this.drawn = true;
  }
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n.toFixed(0) : n.toFixed(2)} ${units[i]}`;
}

export function formatDuration(seconds: number): string {
  const s = Math.floor(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (x: number) => String(x).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}
