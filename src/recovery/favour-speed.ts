/**
 * Database jobs run with V8's default heap sizing. bin/lifeboat.js starts every command with
 * --optimize-for-size (less heap headroom: peak RSS of directory backups, restores and checks
 * 15-30 MiB lower), but a database job moves its dump through this thread in many small pipe
 * reads, and the extra garbage collections cost it 10-20% of its time (bench/db: logical
 * backup 1.09x vs 0.93x the pg_dump | restic reference, physical backup 1.61x vs 1.33x).
 * The flag is read at each collection, so turning it off here takes effect at once.
 */
import { setFlagsFromString } from 'node:v8';

export function favourSpeedOverMemory(): void {
  setFlagsFromString('--no-optimize-for-size');
}
