/**
 * Compressible text that does not deduplicate: lines shaped like JSON records, SQL inserts,
 * pg_dump COPY rows, logs and CSV, built from a small vocabulary plus random numbers, ids and
 * timestamps. zstd shrinks it about 2-4x (like real dumps and logs), while the random fields
 * make every ~1 MiB chunk unique, so the benchmark measures compression, not dedup.
 *
 * It writes bytes straight into a Buffer, because building JS strings would cap generation
 * well below the speed the benchmark needs for a 1 GiB tree.
 */
import { Rng } from './prng.js';

export type TextStyle = 'json' | 'sql' | 'copy' | 'log' | 'csv';

export const TEXT_STYLES: readonly TextStyle[] = ['json', 'sql', 'copy', 'log', 'csv'];

const SYLLABLES = [
  'ka',
  'lo',
  'mi',
  're',
  'sa',
  'to',
  'vin',
  'del',
  'ar',
  'en',
  'ul',
  'ix',
  'or',
  'pa',
  'qu',
  'ber',
  'ton',
  'gra',
  'ste',
  'nor',
  'us',
  'an',
  'el',
  'li',
  'ma',
  'ro',
  'ti',
  'ze',
  'dor',
];

const enc = (s: string) => Buffer.from(s, 'latin1');

function makeVocabulary(seed: string): Buffer[] {
  const rng = new Rng(seed, 'vocabulary');
  const words = new Set<string>();
  while (words.size < 256) {
    let w = '';
    for (let n = rng.int(1, 4); n > 0; n--) w += rng.pick(SYLLABLES);
    words.add(w);
  }
  return [...words].map(enc);
}

const LIT = {
  jsonId: enc('{"id":'),
  jsonName: enc(',"name":"'),
  jsonEmail: enc('","email":"'),
  jsonDomain: enc('.example"'),
  jsonActive: enc(',"active":'),
  jsonScore: enc(',"score":'),
  jsonTags: enc(',"tags":["'),
  jsonTagSep: enc('","'),
  jsonCreated: enc('"],"created":"'),
  jsonEnd: enc('Z"}\n'),
  sqlInsert: enc(
    'INSERT INTO public.orders (id, customer, item, amount, created_at, status) VALUES (',
  ),
  sqlEnd: enc("+00', 'shipped');\n"),
  logInfo: enc('Z INFO  [worker-'),
  logWarn: enc('Z WARN  [worker-'),
  logReq: enc(' request_id='),
  logDur: enc(' duration_ms='),
  bool: [enc('true'), enc('false')],
} as const;

export class TextGen {
  private readonly words: Buffer[];
  private readonly rng: Rng;
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private carry: Buffer = Buffer.alloc(0);

  constructor(
    seed: string,
    label: string,
    private readonly style: TextStyle,
  ) {
    this.words = makeVocabulary(seed);
    this.rng = new Rng(seed, `text:${label}`);
  }

  /** The next `size` bytes of text; lines continue across calls. */
  next(size: number): Buffer {
    const out = Buffer.allocUnsafe(size + 4096);
    this.buf = out;
    this.pos = 0;
    const head = Math.min(this.carry.length, size);
    this.carry.copy(out, 0, 0, head);
    this.pos = head;
    const leftover = this.carry.subarray(head);
    if (leftover.length > 0) {
      this.carry = Buffer.from(leftover);
      return out.subarray(0, size);
    }
    // A line is well under 4 KiB, so writing may run past `size` into the spare room.
    while (this.pos < size) this.line();
    this.carry = Buffer.from(out.subarray(size, this.pos));
    return out.subarray(0, size);
  }

  private line(): void {
    switch (this.style) {
      case 'json':
        this.jsonLine();
        return;
      case 'sql':
        this.sqlLine();
        return;
      case 'copy':
        this.copyLine();
        return;
      case 'log':
        this.logLine();
        return;
      case 'csv':
        this.csvLine();
        return;
    }
  }

  private lit(b: Buffer): void {
    // A byte loop beats Buffer#copy's native call for the few bytes of a word or field.
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < b.length; i++) buf[p++] = b[i]!;
    this.pos = p;
  }

  private ch(c: string): void {
    this.buf[this.pos++] = c.charCodeAt(0);
  }

  private word(): void {
    this.lit(this.words[this.rng.u32() & 255]!);
  }

  private words2(n: number, sep: number): void {
    for (let i = 0; i < n; i++) {
      if (i > 0) this.buf[this.pos++] = sep;
      this.word();
    }
  }

  /** A non-negative integer below `limit`, in decimal. */
  private num(limit: number): void {
    const v = this.rng.int(0, limit);
    let div = 1;
    while (div * 10 <= v) div *= 10;
    for (; div >= 1; div /= 10) this.buf[this.pos++] = 48 + (Math.floor(v / div) % 10);
  }

  private pad2(v: number): void {
    this.buf[this.pos++] = 48 + Math.floor(v / 10);
    this.buf[this.pos++] = 48 + (v % 10);
  }

  private hex(n: number): void {
    for (let i = 0; i < n; i += 8) {
      const v = this.rng.u32();
      for (let k = 0; k < 8 && i + k < n; k++) {
        const d = (v >>> (k * 4)) & 15;
        this.buf[this.pos++] = d < 10 ? 48 + d : 87 + d;
      }
    }
  }

  private decimal(): void {
    this.num(100000);
    this.ch('.');
    this.pad2(this.rng.int(0, 100));
  }

  private timestamp(sep: string): void {
    // Years 2019-2024: "20" and two digits.
    this.buf[this.pos++] = 50;
    this.buf[this.pos++] = 48;
    this.pad2(19 + this.rng.int(0, 6));
    this.ch('-');
    this.pad2(this.rng.int(1, 13));
    this.ch('-');
    this.pad2(this.rng.int(1, 29));
    this.ch(sep);
    this.pad2(this.rng.int(0, 24));
    this.ch(':');
    this.pad2(this.rng.int(0, 60));
    this.ch(':');
    this.pad2(this.rng.int(0, 60));
  }

  private jsonLine(): void {
    this.lit(LIT.jsonId);
    this.num(10_000_000);
    this.lit(LIT.jsonName);
    this.words2(2, 32);
    this.lit(LIT.jsonEmail);
    this.words2(2, 46);
    this.ch('@');
    this.word();
    this.lit(LIT.jsonDomain);
    this.lit(LIT.jsonActive);
    this.lit(LIT.bool[this.rng.u32() & 1]!);
    this.lit(LIT.jsonScore);
    this.decimal();
    this.lit(LIT.jsonTags);
    this.word();
    this.lit(LIT.jsonTagSep);
    this.word();
    this.lit(LIT.jsonCreated);
    this.timestamp('T');
    this.lit(LIT.jsonEnd);
  }

  private sqlLine(): void {
    this.lit(LIT.sqlInsert);
    this.num(100_000_000);
    this.ch(',');
    this.ch(' ');
    this.ch("'");
    this.words2(2, 32);
    this.ch("'");
    this.ch(',');
    this.ch(' ');
    this.ch("'");
    this.words2(this.rng.int(1, 6), 32);
    this.ch("'");
    this.ch(',');
    this.ch(' ');
    this.decimal();
    this.ch(',');
    this.ch(' ');
    this.ch("'");
    this.timestamp(' ');
    this.lit(LIT.sqlEnd);
  }

  private copyLine(): void {
    this.num(100_000_000);
    this.ch('\t');
    this.words2(2, 32);
    this.ch('\t');
    this.words2(this.rng.int(2, 12), 32);
    this.ch('\t');
    this.decimal();
    this.ch('\t');
    this.timestamp(' ');
    this.ch('\t');
    this.hex(32);
    this.ch('\n');
  }

  private logLine(): void {
    this.timestamp('T');
    this.ch('.');
    this.num(1000);
    this.lit(this.rng.u32() % 10 === 0 ? LIT.logWarn : LIT.logInfo);
    this.num(16);
    this.ch(']');
    this.ch(' ');
    this.words2(this.rng.int(3, 9), 32);
    this.lit(LIT.logReq);
    this.hex(16);
    this.lit(LIT.logDur);
    this.num(5000);
    this.ch('\n');
  }

  private csvLine(): void {
    this.num(1_000_000);
    this.ch(',');
    this.words2(3, 44);
    this.ch(',');
    this.decimal();
    this.ch(',');
    this.decimal();
    this.ch(',');
    this.timestamp(' ');
    this.ch('\n');
  }
}
