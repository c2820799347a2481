#!/usr/bin/env node
import { setFlagsFromString } from 'node:v8';

// V8 keeps less garbage and headroom with this (peak RSS of a 1 GiB tree backup ~220 -> ~190
// MiB, of check --read-data ~165-200 -> ~135 MiB; bench/RESULTS.md); set before any of
// Lifeboat loads, so the heap and every worker thread start with it.
setFlagsFromString('--optimize-for-size');

const argv = process.argv.slice(2);
// `wal push` of a file an earlier call stored ahead of PostgreSQL's archiver is answered
// before the CLI loads (dist/src/cli/wal-push-fast.js): ~0.1 s instead of ~0.5 s. Anything
// unexpected there (even an error) means the full command runs instead.
let fast;
if (argv.includes('wal') && argv.includes('push')) {
  try {
    fast = await (await import('../dist/src/cli/wal-push-fast.js')).walPushFast(argv, process.env);
  } catch {
    fast = undefined;
  }
}
if (fast !== undefined) {
  process.exitCode = fast;
} else {
  const { main } = await import('../dist/src/cli/main.js');
  process.exitCode = await main(argv);
}
