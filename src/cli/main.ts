#!/usr/bin/env node
// The `brainstem` command: dispatches to one module per command. Errors print one line on
// stderr (a stack trace only with --verbose) and exit non-zero.
import './v8-heap.js';
import { CliError, parse, type Command } from './common.js';
import { runCommand } from './commands/run.js';
import { ingestCommand } from './commands/ingest.js';
import { candidatesCommand, eventsCommand, signaturesCommand, statsCommand } from './commands/query.js';
import { digestCommand } from './commands/digest.js';
import { configSchemaCommand, validateCommand } from './commands/config.js';
import { demoCommand } from './commands/demo.js';
import { checkCommand } from './commands/check.js';
import { incidentsCommand } from './commands/incidents.js';

export const COMMANDS: Command[] = [
  runCommand, ingestCommand, eventsCommand, signaturesCommand, candidatesCommand, statsCommand, digestCommand,
  validateCommand, configSchemaCommand, demoCommand, incidentsCommand, checkCommand,
];

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'usage: brainstem <command> [options]   (-c/--config FILE, default config/brainstem.yaml; --verbose; --help)',
    '',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return name ? 0 : 2;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  const verbose = rest.includes('--verbose');
  try {
    if (!cmd) throw new CliError(`unknown command "${name}" (try brainstem --help)`, 2, 'USAGE');
    const args = parse(cmd, rest);
    if (args.values.help) {
      process.stdout.write(`${cmd.usage}\n  ${cmd.summary}\n`);
      return 0;
    }
    return (await cmd.run(args)) ?? 0;
  } catch (err) {
    const e = err as Error & { exitCode?: number };
    const lines = e instanceof CliError ? e.message : `${e.message ?? String(e)}`;
    process.stderr.write(`brainstem: ${lines}\n`);
    if (verbose && e.stack) process.stderr.write(`${e.stack}\n`);
    return e instanceof CliError ? e.exitCode : 1;
  }
}

main(process.argv.slice(2)).then((code) => {
  // Let stdout drain (a pipe is asynchronous) and the loop end by itself; if a handle lingers,
  // exit anyway shortly after.
  process.exitCode = code;
  setTimeout(() => process.exit(code), 3000).unref();
});
