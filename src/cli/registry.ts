/** Every CLI command, registered explicitly (STYLE.md habit 8: no directory scanning). */
import type { Register } from './command-types.js';
import { registerBackup } from './commands/backup.js';
import { registerCat } from './commands/cat.js';
import { registerCheck } from './commands/check.js';
import { registerDemo } from './commands/demo.js';
import { registerDump } from './commands/dump.js';
import { registerInit } from './commands/init.js';
import { registerKey } from './commands/key.js';
import { registerLs } from './commands/ls.js';
import { registerPlan } from './commands/plan.js';
import { registerRestore } from './commands/restore.js';
import { registerSnapshots } from './commands/snapshots.js';
import { registerUnlock } from './commands/unlock.js';
import { registerWal } from './commands/wal.js';

export const COMMANDS: readonly Register[] = [
  registerInit,
  registerBackup,
  registerSnapshots,
  registerLs,
  registerRestore,
  registerDump,
  registerCat,
  registerCheck,
  registerKey,
  registerUnlock,
  registerPlan,
  registerWal,
  registerDemo,
];
