import type { Command } from 'commander';
import type { CliContext } from './context.js';

/** A command's body: returns the exit code (default 0) or throws a LifeboatError. */
export type ActionFn = (ctx: CliContext, ...args: unknown[]) => Promise<number | void>;

/** Wraps an ActionFn as a commander action (error mapping, context, signals). */
export type Wrap = (fn: ActionFn) => (...args: unknown[]) => Promise<void>;

export type Register = (program: Command, wrap: Wrap) => void;
