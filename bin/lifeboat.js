#!/usr/bin/env node
import { setFlagsFromString } from 'node:v8';

// V8 keeps less garbage and headroom with this (peak RSS of a 1 GiB tree backup ~220 -> ~190
// MiB, of check --read-data ~165-200 -> ~135 MiB; bench/RESULTS.md); set before any of
// Lifeboat loads, so the heap and every worker thread start with it.
setFlagsFromString('--optimize-for-size');

const { main } = await import('../dist/src/cli/main.js');
process.exitCode = await main(process.argv.slice(2));
