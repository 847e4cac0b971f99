/** The command line of kubectl-prognos: kubectl hands a plugin every argument after its name. */
import { ACTION_NAMES, type ActionName } from './rolloutActions.ts';

export const USAGE = `Usage: kubectl prognos COMMAND MODEL [flags]

Commands:
  status MODEL [-w|--watch]   the rollout of a MaintenanceModel: steps, weight, analysis, history
  promote MODEL [--full]      end the current canary step now (--full: skip every remaining step)
  abort MODEL                 roll back to the stable now
  pause MODEL                 hold the rollout at its current step
  resume MODEL                lift a pause
  retry MODEL                 roll the rolled-back version out again

Flags:
  -n, --namespace NS          namespace (default: the kubeconfig context's, else default)
      --kubeconfig PATH       kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)
      --context NAME          kubeconfig context (default: the current one)
`;

export interface Connection {
  namespace?: string;
  kubeconfig?: string;
  context?: string;
}

export type Command =
  | { kind: 'help' }
  | ({ kind: 'status'; name: string; watch: boolean } & Connection)
  | ({ kind: 'action'; action: ActionName; name: string } & Connection);

export class UsageError extends Error {}

const VALUE_FLAGS: Record<string, keyof Connection> = {
  '-n': 'namespace',
  '--namespace': 'namespace',
  '--kubeconfig': 'kubeconfig',
  '--context': 'context',
};

/** Parses argv (without node and script), accepting flags anywhere, as `--flag value` or `--flag=value`. */
export function parseArgs(argv: string[]): Command {
  const positional: string[] = [];
  const connection: Connection = {};
  let watch = false;
  let full = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.startsWith('-') ? arg.indexOf('=') : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const key = VALUE_FLAGS[flag];
    if (key) {
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (!value) throw new UsageError(`${flag} needs a value`);
      connection[key] = value;
    } else if (arg === '-w' || arg === '--watch') watch = true;
    else if (arg === '--full') full = true;
    else if (arg === '-h' || arg === '--help') return { kind: 'help' };
    else if (arg.startsWith('-') && arg !== '-') throw new UsageError(`unknown flag ${arg}`);
    else positional.push(arg);
  }
  const [command, name, ...rest] = positional;
  if (command === undefined || command === 'help') return { kind: 'help' };
  const action = ACTION_NAMES.find((a) => a === command && a !== 'promote-full');
  if (command !== 'status' && !action) throw new UsageError(`unknown command ${command}`);
  if (name === undefined) throw new UsageError(`${command} needs the name of a MaintenanceModel`);
  if (rest.length) throw new UsageError(`unexpected argument ${rest[0]}`);
  if (watch && command !== 'status') throw new UsageError('--watch is only for status');
  if (full && command !== 'promote') throw new UsageError('--full is only for promote');
  if (!action) return { kind: 'status', name, watch, ...connection };
  return { kind: 'action', action: full ? 'promote-full' : action, name, ...connection };
}
