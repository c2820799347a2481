/**
 * The search for cut-point candidates as a small WebAssembly module, assembled here byte by
 * byte (no toolchain, nothing prebuilt).
 *
 * Why this shape: once a chunk has MIN_CHUNK bytes, the digest at byte i is the Rabin
 * fingerprint of the 64 bytes ending at i, whatever came before (the window's earlier bytes
 * have been removed exactly). So "is i a cut point" depends on those 64 bytes alone, and a
 * block can be searched in two halves at once: two independent digest chains in one loop
 * keep the processor busy where one chain waits on its own table lookups. Measured here:
 * one chain ~480 MB/s in WebAssembly (and in JavaScript), two ~930 MB/s.
 *
 * Memory of one instance (each Chunker owns one):
 *   [0, 2048)            mod table, 256 little-endian u64
 *   [2048, 4096)         out table, 256 u64
 *   4096                 shift (u64) = degree − 8
 *   [DATA, DATA+64)      the 64 bytes before the block
 *   [DATA+64, +BLOCK)    the block
 *
 * find(n) returns the first k in [0, n) whose 64 bytes ending at block[k] (reaching back
 * into the 64 bytes before the block) have a fingerprint with the low 20 bits zero, else n.
 */
const SHIFT_OFFSET = 4096;
export const DATA = 8192;
export const BLOCK = 1024 * 1024;
const OUT = 2048;
const MOD = 0;
const PAGES = Math.ceil((DATA + 64 + BLOCK) / 65536);
const SPLIT_MASK = (1 << 20) - 1;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
const name = (s: string) => [...uleb(s.length), ...Buffer.from(s, 'ascii')];
/** memarg: alignment exponent, then offset. */
const at = (align: number, offset: number) => [...uleb(align), ...uleb(offset)];

// Opcodes and value types (WebAssembly core specification, binary format).
const I32 = 0x7f;
const I64 = 0x7e;
const VOID = 0x40;
const BLOCK_ = 0x02;
const LOOP = 0x03;
const IF = 0x04;
const END = 0x0b;
const BR_IF = 0x0d;
const RETURN = 0x0f;
const CALL = 0x10;
const GET = 0x20;
const SET = 0x21;
const TEE = 0x22;
const I64_LOAD = 0x29;
const I32_LOAD8_U = 0x2d;
const I64_LOAD8_U = 0x31;
const I32_CONST = 0x41;
const I64_CONST = 0x42;
const I32_EQZ = 0x45;
const I32_LT_U = 0x49;
const I32_GE_U = 0x4f;
const I32_ADD = 0x6a;
const I32_AND = 0x71;
const I32_SHL = 0x74;
const I32_SHR_U = 0x76;
const I64_OR = 0x84;
const I64_XOR = 0x85;
const I64_SHL = 0x86;
const I64_SHR_U = 0x88;
const I32_WRAP = 0xa7;

/**
 * Appends the byte at DATA + byteAt(local) + offset to digest local d:
 * d = ((d << 8) | byte) ^ mod[d >> shift].
 */
function append(d: number, sh: number, idx: number, pos: number, offset: number): number[] {
  // prettier-ignore
  return [
    GET, d, GET, sh, I64_SHR_U, I32_WRAP, I32_CONST, ...sleb(3), I32_SHL, SET, idx,
    GET, d, I64_CONST, ...sleb(8), I64_SHL,
    GET, pos, I64_LOAD8_U, ...at(0, offset), I64_OR,
    GET, idx, I64_LOAD, ...at(3, MOD), I64_XOR, SET, d,
  ];
}

/** Removes the byte 64 before position `pos` + offset, then appends the byte at it. */
function roll(d: number, sh: number, idx: number, pos: number, offset: number): number[] {
  // prettier-ignore
  return [
    GET, d, GET, pos, I32_LOAD8_U, ...at(0, DATA + offset), I32_CONST, ...sleb(3), I32_SHL,
    I64_LOAD, ...at(3, OUT), I64_XOR, SET, d,
    ...append(d, sh, idx, pos, DATA + 64 + offset),
  ];
}

/** (d & mask) == 0 as an i32 on the stack. */
const isCut = (d: number) => [GET, d, I32_WRAP, I32_CONST, ...sleb(SPLIT_MASK), I32_AND, I32_EQZ];

const loadShift = (sh: number) => [I32_CONST, 0, I64_LOAD, ...at(3, SHIFT_OFFSET), SET, sh];

function body(locals: number[], code: number[]): number[] {
  const b = [...locals, ...code, END];
  return [...uleb(b.length), ...b];
}

// Function 0, warm(p) -> i64: digest of the 64 bytes before block position p.
function warmBody(): number[] {
  const [P, D, SH, IDX, J] = [0, 1, 2, 3, 4];
  // prettier-ignore
  return body([3, 2, I64, 1, I32, 1, I32], [
    ...loadShift(SH),
    I32_CONST, 0, SET, J,
    LOOP, VOID,
    // byte at block position p − 64 + j lives at DATA + p + j
    GET, P, GET, J, I32_ADD, SET, IDX,
    GET, D, GET, SH, I64_SHR_U, I32_WRAP, I32_CONST, ...sleb(3), I32_SHL,
    GET, D, I64_CONST, ...sleb(8), I64_SHL,
    GET, IDX, I64_LOAD8_U, ...at(0, DATA), I64_OR,
    // swap: the index is below the shifted digest on the stack
    SET, D, I64_LOAD, ...at(3, MOD), GET, D, I64_XOR, SET, D,
    GET, J, I32_CONST, 1, I32_ADD, TEE, J, I32_CONST, ...sleb(64), I32_LT_U, BR_IF, 0,
    END,
    GET, D,
  ]);
}

// Function 1, run(p, end, d) -> i32: one chain from block position p with digest d (of the 64
// bytes before p); the first cut position, else end.
function runBody(): number[] {
  const [P, E, D, SH, IDX] = [0, 1, 2, 3, 4];
  // prettier-ignore
  return body([2, 1, I64, 1, I32], [
    ...loadShift(SH),
    GET, P, GET, E, I32_GE_U, IF, VOID, GET, E, RETURN, END,
    LOOP, VOID,
    ...roll(D, SH, IDX, P, 0),
    ...isCut(D), IF, VOID, GET, P, RETURN, END,
    GET, P, I32_CONST, 1, I32_ADD, TEE, P, GET, E, I32_LT_U, BR_IF, 0,
    END,
    GET, E,
  ]);
}

// Function 2, find(n) -> i32 (exported): two chains over the halves [0, h) and [h, n).
function findBody(): number[] {
  const [N, H, K, DA, DB, SH, IDX, BHIT] = [0, 1, 2, 3, 4, 5, 6, 7];
  // prettier-ignore
  return body([3, 2, I32, 3, I64, 2, I32], [
    ...loadShift(SH),
    // Short blocks: one chain.
    GET, N, I32_CONST, ...sleb(256), I32_LT_U,
    IF, VOID, I32_CONST, 0, GET, N, I32_CONST, 0, CALL, 0, CALL, 1, RETURN, END,
    GET, N, I32_CONST, 1, I32_SHR_U, SET, H,
    I32_CONST, 0, CALL, 0, SET, DA,
    GET, H, CALL, 0, SET, DB,
    I32_CONST, 0, SET, K,
    BLOCK_, VOID,
    LOOP, VOID,
    ...roll(DA, SH, IDX, K, 0),
    ...isCut(DA), IF, VOID, GET, K, RETURN, END,
    // chain B reads block position h + k: address k + h through a computed base
    GET, K, GET, H, I32_ADD, SET, BHIT,
    ...roll(DB, SH, IDX, BHIT, 0),
    ...isCut(DB), BR_IF, 1,
    GET, K, I32_CONST, 1, I32_ADD, TEE, K, GET, H, I32_LT_U, BR_IF, 0,
    END,
    // No cut in [0, h) nor [h, 2h): the odd last position, if any.
    GET, H, GET, H, I32_ADD, GET, N, GET, DB, CALL, 1, RETURN,
    END,
    // B found a cut at h + k: A still has [k + 1, h) to search first.
    GET, K, I32_CONST, 1, I32_ADD, GET, H, GET, DA, CALL, 1, TEE, K,
    GET, H, I32_LT_U, IF, VOID, GET, K, RETURN, END,
    GET, BHIT,
  ]);
}

function moduleBytes(): Uint8Array {
  // prettier-ignore
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    // types: 0 (i32) -> i64, 1 (i32, i32, i64) -> i32, 2 (i32) -> i32
    ...section(1, [3, 0x60, 1, I32, 1, I64, 0x60, 3, I32, I32, I64, 1, I32, 0x60, 1, I32, 1, I32]),
    ...section(3, [3, 0, 1, 2]),
    ...section(5, [1, 0x00, ...uleb(PAGES)]),
    ...section(7, [2, ...name('find'), 0x00, 2, ...name('memory'), 0x02, 0]),
    ...section(10, [3, ...warmBody(), ...runBody(), ...findBody()]),
  ];
  return new Uint8Array(bytes);
}

// The compiler's library settings leave out WebAssembly's types (they come with the DOM
// library); this is the part of Node's global WebAssembly object used here.
declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace WebAssembly {
    // eslint-disable-next-line @typescript-eslint/no-extraneous-class
    class Module {
      constructor(bytes: Uint8Array);
    }
    class Instance {
      constructor(module: Module, imports: object);
      readonly exports: Record<string, unknown>;
    }
    class Memory {
      readonly buffer: ArrayBuffer;
    }
  }
}

let compiled: WebAssembly.Module | undefined;

export interface CutFinder {
  /** First cut position in block[0, n), else n. */
  find(n: number): number;
  /** Writes a polynomial's tables (rabin-tables.ts) into the instance. */
  setTables(t: {
    readonly mod: BigUint64Array;
    readonly out: BigUint64Array;
    readonly shift: number;
  }): void;
  /** The instance's memory (fixed size): the block and the 64 bytes before it go at DATA. */
  bytes: Uint8Array;
}

/** A fresh instance with its own memory; setTables before the first find. */
export function instantiateCutFinder(): CutFinder {
  compiled ??= new WebAssembly.Module(moduleBytes());
  const inst = new WebAssembly.Instance(compiled, {});
  const memory = inst.exports['memory'] as WebAssembly.Memory;
  const words = new BigUint64Array(memory.buffer, 0, DATA / 8);
  return {
    find: inst.exports['find'] as (n: number) => number,
    setTables(t) {
      words.set(t.mod, MOD / 8);
      words.set(t.out, OUT / 8);
      words[SHIFT_OFFSET / 8] = BigInt(t.shift);
    },
    bytes: new Uint8Array(memory.buffer),
  };
}
