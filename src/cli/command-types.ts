import type { Command } from 'commander';
import type { CliContext } from './context.js';

/** A command's body: resolves to the exit code (anything else means 0) or throws. */
export type ActionFn = (ctx: CliContext, ...args: unknown[]) => Promise<unknown>;

/** Wraps an ActionFn as a commander action (error mapping, context, signals). */
export type Wrap = (fn: ActionFn) => (...args: unknown[]) => Promise<void>;

export type Register = (program: Command, wrap: Wrap) => void;
