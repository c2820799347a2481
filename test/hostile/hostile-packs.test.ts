/**
 * Issue 2, "Must hold" (bad input): a hostile pack (bad lengths, huge sizes) fails with a
 * bounded error, no crash or runaway memory.
 *
 * The packs are crafted with the repository's own key and listed in a real index, so every
 * MAC verifies and only the lengths and sizes lie: this is what a compromised writer with the
 * password could store, and what a bit-flip in an unauthenticated place (the header length
 * trailer, the index) looks like. Each case gets its own snapshot with one file naming the
 * hostile blob, so `restore` meets it as well as `check --read-data`.
 *
 * Every command runs with a 256 MiB V8 heap and reports its peak RSS through a preloaded
 * module: a zstd bomb or a length taken at its word would show up there (Buffers live
 * outside the V8 heap, so the heap limit alone would not catch them).
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeIndex } from '../../src/repository/index/index-file.js';
import { sha256Hex } from '../../src/repository/ids.js';
import { openRepository } from '../../src/repository/open-repository.js';
import { BlobWriter } from '../../src/repository/pack/blob-writer.js';
import { encodeHeader } from '../../src/repository/pack/pack-header.js';
import type { PackedBlob } from '../../src/repository/blob.js';
import type { Repository } from '../../src/repository/repository.js';
import { encodeSnapshot } from '../../src/repository/snapshot.js';
import { encodeTree } from '../../src/repository/tree/tree-json.js';
import { zstdCompress } from '../../src/repository/zstd.js';
import { openBackend } from '../../src/storage/open-backend.js';
import { lifeboat, lifeboatOk, ndjson, tempDir, type RunResult } from '../support/cli.js';

const PASSWORD = 'hostile packs';
/** A CLI run peaks near 100 MiB here; staying below this, it has not materialised a claimed size. */
const RSS_LIMIT_KIB = 256 * 1024;
const U32_MAX = 0xffffffff;

// ---- zstd frames written by hand (RFC 8878 §3.1.1) ----

const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
/** Window descriptor for a 128 KiB window: exponent 7, mantissa 0 (2^(10+7)). */
const WINDOW_128K = 0x38;
const BLOCK_MAX = 128 * 1024;

function blockHeader(last: boolean, type: 0 | 1, size: number): Buffer {
  const b = Buffer.alloc(3);
  b.writeUIntLE((size << 3) | (type << 1) | (last ? 1 : 0), 0, 3);
  return b;
}

/** One frame of raw blocks holding `data`, with no Frame_Content_Size. */
function frameWithoutSize(data: Buffer): Buffer {
  const parts: Buffer[] = [ZSTD_MAGIC, Buffer.from([0x00, WINDOW_128K])];
  for (let pos = 0; pos < data.length || pos === 0; pos += BLOCK_MAX) {
    const chunk = data.subarray(pos, pos + BLOCK_MAX);
    parts.push(blockHeader(pos + BLOCK_MAX >= data.length, 0, chunk.length), chunk);
  }
  return Buffer.concat(parts);
}

/** A frame whose header declares `declared` bytes but whose one raw block holds `data`. */
function frameDeclaring(declared: number, data: Buffer): Buffer {
  const fcs = Buffer.alloc(8);
  fcs.writeBigUInt64LE(BigInt(declared));
  // FHD: Frame_Content_Size_flag 3 (8 bytes), not single-segment, so a window descriptor.
  return Buffer.concat([
    ZSTD_MAGIC,
    Buffer.from([0xc0, WINDOW_128K]),
    fcs,
    blockHeader(true, 0, data.length),
    data,
  ]);
}

/** A decompression bomb: RLE blocks of zeros adding up to `total` bytes, no declared size. */
function rleBomb(total: number): Buffer {
  const parts: Buffer[] = [ZSTD_MAGIC, Buffer.from([0x00, WINDOW_128K])];
  for (let left = total; left > 0; left -= BLOCK_MAX) {
    parts.push(blockHeader(left <= BLOCK_MAX, 1, Math.min(left, BLOCK_MAX)), Buffer.from([0]));
  }
  return Buffer.concat(parts);
}

// ---- packs written by hand ----

interface CraftedPack {
  bytes: Buffer;
  /** What the index will claim; may disagree with the pack. */
  indexEntries: PackedBlob[];
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n, 0);
  return b;
}

/** A well-formed pack around already sealed blobs whose header lists `header`. */
function packOf(repo: Repository, sealed: Buffer[], header: PackedBlob[]): Buffer {
  const encHeader = repo.key.encrypt(encodeHeader(header));
  return Buffer.concat([...sealed, encHeader, u32(encHeader.length)]);
}

interface HostileCase {
  name: string;
  /** The blob the case's file names (and the pack names it in its header or index). */
  blobId: string;
  /** Whether `restore` can succeed: only when the blob itself is intact. */
  restorable: boolean;
  /** Plaintext of the file when restorable. */
  plain?: Buffer;
  build(repo: Repository): Promise<CraftedPack>;
  packId?: string;
  snapshotId?: string;
}

function plainFor(name: string, size = 3000): Buffer {
  return Buffer.from(`hostile case ${name}\n`.repeat(Math.ceil(size / 20))).subarray(0, size);
}

function intactBlob(repo: Repository, name: string) {
  const plain = plainFor(name);
  const id = sha256Hex(plain);
  const sealed = repo.key.encrypt(plain);
  const entry: PackedBlob = { id, type: 'data', offset: 0, length: sealed.length };
  return { plain, id, sealed, entry };
}

function compressedCase(
  name: string,
  payload: (plain: Buffer) => Promise<Buffer> | Buffer,
  claimed: number,
): HostileCase {
  const plain = plainFor(name);
  const c: HostileCase = {
    name,
    blobId: sha256Hex(plain),
    restorable: false,
    async build(repo) {
      const sealed = repo.key.encrypt(await payload(plain));
      const entry: PackedBlob = {
        id: c.blobId,
        type: 'data',
        offset: 0,
        length: sealed.length,
        uncompressedLength: claimed,
      };
      // Header and index agree: only the decompression path can notice the lie.
      return { bytes: packOf(repo, [sealed], [entry]), indexEntries: [entry] };
    },
  };
  return c;
}

function indexLieCase(
  name: string,
  lie: (entry: PackedBlob, packSize: number) => PackedBlob,
): HostileCase {
  const c: HostileCase = {
    name,
    blobId: sha256Hex(plainFor(name)),
    restorable: false,
    // eslint-disable-next-line @typescript-eslint/require-await
    async build(repo) {
      const b = intactBlob(repo, name);
      const bytes = packOf(repo, [b.sealed], [b.entry]);
      return { bytes, indexEntries: [lie(b.entry, bytes.length)] };
    },
  };
  return c;
}

const CASES: HostileCase[] = [
  {
    name: 'header length trailer 0xFFFFFFFF',
    blobId: sha256Hex(plainFor('header length trailer 0xFFFFFFFF')),
    restorable: true,
    plain: plainFor('header length trailer 0xFFFFFFFF'),
    // eslint-disable-next-line @typescript-eslint/require-await
    async build(repo) {
      const b = intactBlob(repo, 'header length trailer 0xFFFFFFFF');
      const bytes = Buffer.concat([b.sealed, Buffer.alloc(64, 0xaa), u32(U32_MAX)]);
      return { bytes, indexEntries: [b.entry] };
    },
  },
  {
    name: 'header entry length 0xFFFFFFFF',
    blobId: sha256Hex(plainFor('header entry length 0xFFFFFFFF')),
    restorable: true,
    plain: plainFor('header entry length 0xFFFFFFFF'),
    // eslint-disable-next-line @typescript-eslint/require-await
    async build(repo) {
      const b = intactBlob(repo, 'header entry length 0xFFFFFFFF');
      const bytes = packOf(repo, [b.sealed], [{ ...b.entry, length: U32_MAX }]);
      return { bytes, indexEntries: [b.entry] };
    },
  },
  {
    name: 'header lists a blob past the end of the pack',
    blobId: sha256Hex(plainFor('header lists a blob past the end of the pack')),
    restorable: true,
    plain: plainFor('header lists a blob past the end of the pack'),
    // eslint-disable-next-line @typescript-eslint/require-await
    async build(repo) {
      const b = intactBlob(repo, 'header lists a blob past the end of the pack');
      const ghost: PackedBlob = {
        id: sha256Hex(Buffer.from('ghost')),
        type: 'data',
        offset: b.sealed.length,
        length: 1 << 30,
      };
      const bytes = packOf(repo, [b.sealed], [b.entry, ghost]);
      return { bytes, indexEntries: [b.entry] };
    },
  },
  compressedCase(
    'uncompressed_length 4 GiB, frame declares the real size',
    (p) => frameDeclaring(p.length, p),
    U32_MAX,
  ),
  compressedCase(
    'uncompressed_length 4 GiB, frame from our own compressor',
    (p) => zstdCompress(p, 'auto'),
    U32_MAX,
  ),
  compressedCase(
    'uncompressed_length 4 GiB, frame without a size',
    (p) => frameWithoutSize(p),
    U32_MAX,
  ),
  compressedCase(
    'frame declares 4 GiB and so does the index',
    (p) => frameDeclaring(U32_MAX, p),
    U32_MAX,
  ),
  compressedCase(
    'frame declares 4 GiB, index the real size',
    (p) => frameDeclaring(U32_MAX, p),
    3000,
  ),
  // ~16 KiB of RLE blocks that inflate to 512 MiB of zeros, claimed as 3000 bytes.
  compressedCase('zstd bomb (512 MiB, no declared size)', () => rleBomb(512 * 1024 * 1024), 3000),
  indexLieCase('index offset past the end of the pack', (e, size) => ({
    ...e,
    offset: size + 4096,
  })),
  indexLieCase('index length 2^40', (e) => ({ ...e, length: 2 ** 40 })),
  indexLieCase('index length 0', (e) => ({ ...e, length: 0 })),
  indexLieCase('index offset + length overflow 2^53', (e) => ({
    ...e,
    offset: 2 ** 52,
    length: 2 ** 52,
  })),
  {
    name: 'pack of 3 bytes',
    blobId: sha256Hex(plainFor('pack of 3 bytes')),
    restorable: false,
    // eslint-disable-next-line @typescript-eslint/require-await
    async build() {
      const id = sha256Hex(plainFor('pack of 3 bytes'));
      return {
        bytes: Buffer.from([1, 2, 3]),
        indexEntries: [{ id, type: 'data', offset: 0, length: 3000 }],
      };
    },
  },
];

/** Writes each case's pack, an index naming it, and a snapshot whose one file uses the blob. */
async function writeCases(repoPath: string): Promise<void> {
  const backend = openBackend(repoPath, { env: {} });
  try {
    const repo = await openRepository(backend, PASSWORD);
    const writer = new BlobWriter(repo);
    const trees: { c: HostileCase; tree: string }[] = [];
    for (const c of CASES) {
      const pack = await c.build(repo);
      c.packId = sha256Hex(pack.bytes);
      await backend.save({ type: 'pack', name: c.packId }, pack.bytes);
      await repo.saveUnpacked('index', encodeIndex([{ id: c.packId, blobs: pack.indexEntries }]));
      const t = '2024-05-01T12:00:00Z';
      const tree = encodeTree([
        {
          name: 'victim.txt',
          type: 'file',
          mode: 0o644,
          mtime: t,
          atime: t,
          ctime: t,
          uid: 0,
          gid: 0,
          size: 3000,
          content: [c.blobId],
        },
      ]);
      trees.push({ c, tree: (await writer.save('tree', tree)).id });
    }
    await writer.flush();
    for (const { c, tree } of trees) {
      c.snapshotId = await repo.saveUnpacked(
        'snapshot',
        encodeSnapshot({
          time: new Date().toISOString(),
          tree,
          paths: ['/hostile'],
          hostname: 'test',
          tags: [c.name],
        }),
      );
    }
  } finally {
    await backend.close();
  }
}

/** Runs the CLI with a small V8 heap and returns its result plus its peak RSS in KiB. */
async function runBounded(dir: string, args: string[], env: Record<string, string>) {
  const rssFile = join(dir, `rss-${Math.random().toString(16).slice(2)}`);
  const r = await lifeboat(args, {
    env: {
      ...env,
      NODE_OPTIONS: `--max-old-space-size=256 --require ${join(dir, 'report-rss.cjs')}`,
      REPORT_RSS_TO: rssFile,
    },
    timeoutMs: 60_000,
  });
  const rss = Number(await readFile(rssFile, 'utf8').catch(() => 'NaN'));
  return { ...r, rssKiB: rss };
}

function assertBounded(r: RunResult & { rssKiB: number }, what: string): void {
  const out = `\nstdout: ${r.stdout.slice(0, 3000)}\nstderr: ${r.stderr.slice(0, 3000)}`;
  assert.equal(r.signal, null, `${what}: killed by ${r.signal}${out}`);
  assert.ok(Number.isFinite(r.rssKiB), `${what}: no RSS report (process crashed?)${out}`);
  assert.ok(
    r.rssKiB < RSS_LIMIT_KIB,
    `${what}: peak RSS ${Math.round(r.rssKiB / 1024)} MiB, limit ${RSS_LIMIT_KIB / 1024} MiB${out}`,
  );
  assert.doesNotMatch(
    r.stderr,
    /Maximum call stack|heap out of memory|FATAL ERROR|at .*\.js:\d+/,
    `${what}: crashed${out}`,
  );
}

test('hostile packs: check --read-data and restore fail with bounded, named errors', async (t) => {
  await using dir = await tempDir('lb-hostile-packs-');
  const repo = join(dir.path, 'repo');
  const env = { LIFEBOAT_REPOSITORY: repo, LIFEBOAT_PASSWORD: PASSWORD };
  await writeFile(
    join(dir.path, 'report-rss.cjs'),
    "process.on('exit', () => require('fs').writeFileSync(process.env.REPORT_RSS_TO, " +
      'String(process.resourceUsage().maxRSS)));\n',
  );
  await lifeboatOk(['init'], { env });
  await writeCases(repo);

  await t.test('check --read-data names every hostile pack and blob', async () => {
    const r = await runBounded(dir.path, ['--json', 'check', '--read-data'], env);
    assertBounded(r, 'check --read-data');
    assert.equal(r.code, 1, `check must fail\n${r.stdout}\n${r.stderr}`);
    const problems = ndjson(r.stdout).filter((x) => x.type === 'problem');
    for (const c of CASES) {
      const mine = problems.filter((p) => p.packId === c.packId);
      assert.ok(mine.length > 0, `${c.name}: no problem names pack ${c.packId}\n${r.stdout}`);
      for (const p of mine) {
        assert.match(String(p.message), new RegExp(c.packId!), `${c.name}: message names the pack`);
      }
      if (!c.restorable) {
        assert.ok(
          mine.some((p) => p.blobId === c.blobId || String(p.message).includes(c.blobId)),
          `${c.name}: no problem names blob ${c.blobId}\n${JSON.stringify(mine, null, 1)}`,
        );
      }
    }
  });

  await t.test('check without --read-data stays bounded and flags the index lies', async () => {
    const r = await runBounded(dir.path, ['--json', 'check'], env);
    assertBounded(r, 'check');
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
    const problems = ndjson(r.stdout).filter((x) => x.type === 'problem');
    for (const c of CASES.filter(
      (x) => x.name.startsWith('index ') || x.name === 'pack of 3 bytes',
    )) {
      assert.ok(
        problems.some((p) => p.packId === c.packId),
        `${c.name}: structure check should see that the index points past pack ${c.packId}\n${r.stdout}`,
      );
    }
  });

  await t.test('restore of each hostile snapshot', { concurrency: 2 }, async (t2) => {
    await Promise.all(
      CASES.map((c, i) =>
        t2.test(c.name, async () => {
          const target = join(dir.path, `restore-${i}`);
          const r = await runBounded(dir.path, ['restore', c.snapshotId!, '--target', target], env);
          assertBounded(r, `restore (${c.name})`);
          if (c.restorable) {
            assert.equal(r.code, 0, `the blob itself is intact\n${r.stderr}`);
            const got = await readFile(join(target, 'victim.txt'));
            assert.ok(got.equals(c.plain!), 'restored content');
          } else {
            assert.equal(r.code, 1, `restore must fail\n${r.stdout}\n${r.stderr}`);
            assert.ok(
              r.stderr.includes(c.blobId) || r.stderr.includes(c.packId!),
              `the error names blob ${c.blobId} or pack ${c.packId}\n${r.stderr}`,
            );
            assert.doesNotMatch(r.stderr, /INTERNAL|TypeError|RangeError/);
          }
        }),
      ),
    );
  });
});

test('an index listing 300,000 blobs in one pack is checked without a crash', async () => {
  await using dir = await tempDir('lb-hostile-index-');
  const repo = join(dir.path, 'repo');
  const env = { LIFEBOAT_REPOSITORY: repo, LIFEBOAT_PASSWORD: PASSWORD };
  await lifeboatOk(['init'], { env });
  const backend = openBackend(repo, { env: {} });
  let packId: string;
  try {
    const r = await openRepository(backend, PASSWORD);
    const b = intactBlob(r, 'many');
    const bytes = packOf(r, [b.sealed], [b.entry]);
    packId = sha256Hex(bytes);
    await backend.save({ type: 'pack', name: packId }, bytes);
    // Far more entries than a spread or apply() can take as arguments (~120k in V8).
    const blobs: PackedBlob[] = [];
    for (let i = 0; i < 300_000; i++) {
      blobs.push({
        id: sha256Hex(Buffer.from(`blob ${i}`)),
        type: 'tree',
        offset: i * 40,
        length: 40,
      });
    }
    await r.saveUnpacked('index', encodeIndex([{ id: packId, blobs }]));
  } finally {
    await backend.close();
  }
  const r = await lifeboat(['--json', 'check'], { env, timeoutMs: 60_000 });
  assert.equal(r.signal, null);
  assert.doesNotMatch(r.stderr, /Maximum call stack|RangeError/, r.stderr);
  assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
  const problems = ndjson(r.stdout).filter((x) => x.type === 'problem');
  assert.ok(
    problems.some((p) => p.packId === packId && p.kind === 'truncated-pack'),
    `the pack is far smaller than its index entries\n${r.stdout.slice(0, 2000)}`,
  );
});
