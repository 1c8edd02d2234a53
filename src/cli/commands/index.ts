/** Every subcommand, each in its own file. */
import type { Command } from 'commander';

type Register = (program: Command) => void;

// One line per command file; adding a command is adding its file and its line here.
const COMMANDS: Register[] = [
  (p) => require('./info').register(p),
  (p) => require('./data').register(p),
  (p) => require('./upscale').register(p),
  (p) => require('./eval').register(p),
  (p) => require('./train').register(p),
  (p) => require('./compare').register(p),
  (p) => require('./demo').register(p),
  (p) => require('./export').register(p),
  (p) => require('./worker').register(p),
  (p) => require('./queue').register(p),
];

export function registerCommands(program: Command): void {
  for (const register of COMMANDS) register(program);
}
