/**
 * The engine contract suite (issue 3): every engine must dump a filled source, restore the
 * parts into a fresh server, and yield an equal copy; fail cleanly when the source is
 * unreachable; and fail (not produce a short backup) when its tool dies mid-dump.
 * An engine's test file calls `engineContract` with a fixture that starts real servers.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isLifeboatError } from '../../src/core/errors.js';
import type {
  BackupPart,
  DumpSource,
  PartReader,
  RestoreTarget,
} from '../../src/engines/engine.js';

/** A source server with data in it, and a fresh, empty target; both torn down on dispose. */
export interface EngineSetup extends AsyncDisposable {
  readonly source: DumpSource;
  readonly target: RestoreTarget;
  /** Throws (assert) unless the target now holds the same data as the source. */
  compare(): Promise<void>;
  /** A source for the same engine whose server is not running (port closed). */
  unreachable(): DumpSource;
  /** Kills the source's server process (SIGKILL) or dump tool while a dump is running. */
  breakDuringDump(): Promise<void>;
}

export interface EngineFixture {
  /** Starts the servers and fills the source with data (at least a few MiB, so a dump takes a while). */
  setup(): Promise<EngineSetup>;
}

/** Reads every part into memory, keyed by name (test data is small). */
export async function dumpAll(source: DumpSource): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const part of await source.listParts()) out.set(part.name, await readPart(part));
  return out;
}

export async function readPart(part: BackupPart): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of part.open()) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

export function readerOf(parts: Map<string, Buffer>): PartReader {
  return (name) => {
    const data = parts.get(name);
    if (!data) throw new Error(`no part ${name}`);
    return (async function* () {
      await Promise.resolve();
      // Hand the bytes over in pieces, as the repository does.
      for (let i = 0; i < data.length; i += 1 << 20) yield data.subarray(i, i + (1 << 20));
    })();
  };
}

export function engineContract(name: string, fixture: EngineFixture): void {
  describe(`engine contract: ${name}`, () => {
    test('dump, restore into a fresh server, compare equal', async () => {
      await using s = await fixture.setup();
      const parts = await dumpAll(s.source);
      assert.ok(parts.size > 0, 'at least one part');
      for (const [n, data] of parts) {
        assert.ok(!n.includes('/') && n.length > 0, `part name ${n} is a plain name`);
        assert.ok(data.length > 0, `part ${n} is not empty`);
      }
      const outcome = await s.target.restore([...parts.keys()], readerOf(parts));
      assert.deepEqual([...outcome.parts], [...parts.keys()]);
      await s.compare();
    });

    test('a second dump of unchanged data has the same part names', async () => {
      await using s = await fixture.setup();
      const a = await s.source.listParts();
      const b = await s.source.listParts();
      assert.deepEqual(
        a.map((p) => p.name),
        b.map((p) => p.name),
      );
    });

    test('an unreachable source fails with UNREACHABLE before any part is produced', async () => {
      await using s = await fixture.setup();
      await assert.rejects(s.unreachable().listParts(), (e: unknown) => {
        assert.ok(isLifeboatError(e), `a LifeboatError, got ${String(e)}`);
        assert.equal(e.code, 'UNREACHABLE', e.message);
        return true;
      });
    });

    test('the server or tool dying mid-dump makes the part fail, not end short', async () => {
      await using s = await fixture.setup();
      const parts = await s.source.listParts();
      let failed = false;
      for (const part of parts) {
        try {
          let first = true;
          for await (const _chunk of part.open()) {
            if (first) {
              first = false;
              await s.breakDuringDump();
            }
          }
        } catch (e) {
          assert.ok(isLifeboatError(e), `a LifeboatError, got ${String(e)}`);
          failed = true;
          break;
        }
      }
      assert.ok(failed, 'some part must fail once the server is gone');
    });
  });
}
