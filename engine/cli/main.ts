// ferry: DMO-style database migrations from the command line, on the same engine and the same
// Migration manifest the operator uses.
import { parseArgs } from 'node:util';
import { SpecError } from '../api/manifest.ts';
import { createLogger } from '../log.ts';
import {
  cutoverCommand,
  exportCommand,
  fallbackCommand,
  importCommand,
  planCommand,
  runCommand,
  statusCommand,
  transferCommand,
  validateCommand,
  type CommandOptions,
} from './commands.ts';
import { loadSettings, UsageError } from './load.ts';
import { isPhase, PHASES } from '../phases/phase.ts';

const COMMANDS = {
  plan: [
    planCommand,
    'show the source catalog, the table groups and the estimated duration; changes nothing',
  ],
  run: [runCommand, 'run (or resume) the migration through all phases, with live progress'],
  status: [statusCommand, 'show the phase and the progress of a started migration'],
  validate: [validateCommand, 'compare row counts and checksums of source and target'],
  fallback: [
    fallbackCommand,
    'drop the shadow schema and what ferry created on the target; the source stays as it was',
  ],
  cutover: [
    cutoverCommand,
    'DowntimeOptimized: approve the cutover (lock the source, replay the last delta, switch)',
  ],
  transfer: [transferCommand, 'copy table groups of a started migration (what a transfer Pod runs)'],
  export: [
    exportCommand,
    'system move, source side: run up to the files in spec.transfer.dumpDir and stop (--complete: the import succeeded)',
  ],
  import: [
    importCommand,
    'system move, target side: finish the migration from a copied dump directory (--from)',
  ],
} as const;

const USAGE = `usage: ferry <command> -f migration.yaml [options]

commands:
${Object.entries(COMMANDS)
  .map(([n, [, d]]) => `  ${n.padEnd(10)}${d}`)
  .join('\n')}

options:
  -f, --filename FILE       the Migration manifest (- for standard input)
      --json                machine-readable output (plan, status)
      --previous-report F   plan with the per-table durations of an earlier run
      --report-out F        where run writes its report (default: <name>.report.json)
      --group N[,N...]      transfer, import: the table groups to copy (import: once it reached Execution;
                            transfer, Standard with the pipe: then build, analyze and validate each
                            table they complete, as a transfer Pod does)
      --stop-after PHASE    run, export, import: pause after this phase (a later run continues)
      --from DIR            import, fallback: the copied dump directory (import: default spec.transfer.dumpDir;
                            fallback --from: the import side);
                            export --complete: the directory with the import's completion record
      --complete            export: the import succeeded; remove the shadow schema and the fence
      --stage S             transfer with method Dump: export or import only
  -h, --help
`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      filename: { type: 'string', short: 'f' },
      json: { type: 'boolean', default: false },
      'previous-report': { type: 'string' },
      'report-out': { type: 'string' },
      group: { type: 'string' },
      'stop-after': { type: 'string' },
      from: { type: 'string' },
      complete: { type: 'boolean', default: false },
      stage: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const name = positionals[0];
  if (values.help || !name) {
    process.stdout.write(USAGE);
    return name || values.help ? 0 : 2;
  }
  const command = COMMANDS[name as keyof typeof COMMANDS];
  if (!command) throw new UsageError(`unknown command ${name}\n${USAGE}`);
  const settings = loadSettings(values.filename);
  const groups = values.group?.split(',').map((g) => {
    const n = Number(g);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`--group: ${g} is not a group number`);
    return n;
  });
  const stopAfter = values['stop-after'];
  if (stopAfter !== undefined && !isPhase(stopAfter))
    throw new UsageError(`--stop-after: ${stopAfter} is not a phase (${PHASES.join(', ')})`);
  const stage = values.stage;
  if (stage !== undefined && stage !== 'export' && stage !== 'import')
    throw new UsageError(`--stage: ${stage} is not a stage (export, import)`);
  const options: CommandOptions = {
    from: values.from,
    complete: values.complete,
    stage,
    stopAfter,
    json: values.json,
    previousReport: values['previous-report'],
    reportOut: values['report-out'],
    groups,
  };
  const log = createLogger({ migration: settings.name, command: name });
  return command[0](settings, log, options);
}

const isMain = process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      const e = err as Error;
      const usage = err instanceof UsageError || err instanceof SpecError;
      process.stderr.write(`\nferry: error: ${e.message}\n`);
      if (process.env['FERRY_DEBUG']) process.stderr.write(`${e.stack}\n`);
      process.exit(usage ? 2 : 1);
    },
  );
}
