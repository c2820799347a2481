/**
 * Issue 2, "Must hold" (bad input: no crash or runaway memory), for the files outside packs.
 * Index, snapshot and lock files are one zstd frame each in a v2 repository (RESTIC-FORMAT.md,
 * "Unpacked files"), with no recorded size to check the frame against. A 16 KiB file of RLE
 * blocks that inflates to 512 MiB, encrypted with the repository's key, must be refused with an
 * error naming the file, without the process ever holding that much.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { sha256Hex } from '../../src/repository/ids.js';
import { openRepository } from '../../src/repository/open-repository.js';
import { openBackend } from '../../src/storage/open-backend.js';
import { lifeboat, lifeboatOk, tempDir } from '../support/cli.js';

const PASSWORD = 'hostile unpacked';
const RSS_LIMIT_KIB = 256 * 1024;

/** 0x02 (v2 compressed) + one zstd frame without a declared size: RLE blocks of spaces. */
function inflatingPlaintext(total: number): Buffer {
  const parts: Buffer[] = [Buffer.from([0x02, 0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38])];
  for (let left = total; left > 0; left -= 128 * 1024) {
    const header = Buffer.alloc(3);
    const size = Math.min(left, 128 * 1024);
    header.writeUIntLE((size << 3) | (1 << 1) | (left <= 128 * 1024 ? 1 : 0), 0, 3);
    parts.push(header, Buffer.from([0x20]));
  }
  return Buffer.concat(parts);
}

test('index, snapshot and lock files that inflate to 512 MiB are refused in bounded memory', async () => {
  await using dir = await tempDir('lb-hostile-unpacked-');
  const repo = join(dir.path, 'repo');
  const env = { LIFEBOAT_REPOSITORY: repo, LIFEBOAT_PASSWORD: PASSWORD };
  await lifeboatOk(['init'], { env });
  const ids: Record<'index' | 'snapshot' | 'lock', string> = { index: '', snapshot: '', lock: '' };
  const backend = openBackend(repo, { env: {} });
  try {
    const r = await openRepository(backend, PASSWORD);
    for (const type of ['index', 'snapshot', 'lock'] as const) {
      const sealed = r.key.encrypt(inflatingPlaintext(512 * 1024 * 1024));
      ids[type] = sha256Hex(sealed);
      await backend.save({ type, name: ids[type] }, sealed);
    }
  } finally {
    await backend.close();
  }
  await writeFile(
    join(dir.path, 'report-rss.cjs'),
    "process.on('exit', () => require('fs').writeFileSync(process.env.REPORT_RSS_TO, " +
      'String(process.resourceUsage().maxRSS)));\n',
  );
  for (const args of [['check'], ['snapshots']]) {
    const rssFile = join(dir.path, `rss-${args[0]}`);
    const r = await lifeboat(args, {
      env: {
        ...env,
        NODE_OPTIONS: `--max-old-space-size=256 --require ${join(dir.path, 'report-rss.cjs')}`,
        REPORT_RSS_TO: rssFile,
      },
      timeoutMs: 60_000,
    });
    const out = `${r.stdout}\n${r.stderr}`;
    assert.equal(r.signal, null, out);
    const rss = Number(await readFile(rssFile, 'utf8'));
    assert.ok(rss < RSS_LIMIT_KIB, `${args[0]}: peak RSS ${Math.round(rss / 1024)} MiB\n${out}`);
    assert.doesNotMatch(out, /INTERNAL|RangeError|ERR_STRING_TOO_LONG|\n\s+at /, out);
    assert.equal(r.code, 1, `${args[0]} reports the damage\n${out}`);
    assert.ok(out.includes(ids.snapshot), `${args[0]} names the snapshot file\n${out}`);
    if (args[0] === 'check')
      assert.ok(out.includes(ids.index), `check names the index file\n${out}`);
  }
});
