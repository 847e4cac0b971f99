/**
 * kubectl-prognos, the kubectl plugin for MaintenanceModel rollouts (bin/kubectl-prognos runs this).
 * It reads the kubeconfig kubectl would (--kubeconfig, $KUBECONFIG, ~/.kube/config; --context) and
 * sets the rollout control annotations with a merge patch, refusing actions that do not apply.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { API_VERSION } from '../api/meta.ts';
import { MAINTENANCE_MODEL_KIND, type MaintenanceModel } from '../api/maintenanceModel.ts';
import { isConflict, isGone, KubeClient, type ObjectRef, type WatchEvent } from '../framework/kubeClient.ts';
import { parseArgs, USAGE, UsageError, type Command, type Connection } from './args.ts';
import { renderStatus } from './render.ts';
import { annotationOf, refusal, type ActionName } from './rolloutActions.ts';

function connect(c: Connection): { client: KubeClient; namespace: string } {
  const kc = new KubeConfig();
  if (c.kubeconfig) kc.loadFromFile(c.kubeconfig);
  // As kubectl: of several $KUBECONFIG files, the first one's current-context counts.
  else kc.loadFromDefault(undefined, true);
  if (c.context) {
    if (!kc.getContextObject(c.context)) throw new Error(`context "${c.context}" is not in the kubeconfig`);
    kc.setCurrentContext(c.context);
  }
  const namespace = c.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
  return { client: new KubeClient(kc), namespace };
}

const refTo = (name: string, namespace: string): ObjectRef => ({
  apiVersion: API_VERSION,
  kind: MAINTENANCE_MODEL_KIND,
  namespace,
  name,
});

async function getModel(client: KubeClient, ref: ObjectRef): Promise<MaintenanceModel> {
  const model = await client.get<MaintenanceModel>(ref);
  if (!model) throw new Error(`maintenancemodel "${ref.name}" not found in namespace ${ref.namespace}`);
  return model;
}

/**
 * Sets the action's annotation. The patch carries the resourceVersion the decision was made on, so a
 * model that changed in between is read and judged again rather than annotated blindly.
 */
async function act(client: KubeClient, ref: ObjectRef, action: ActionName): Promise<string> {
  const annotation = annotationOf(action);
  for (let attempt = 1; ; attempt++) {
    const model = await getModel(client, ref);
    const why = refusal(action, model);
    if (why) throw new Error(`cannot ${action} maintenancemodel "${ref.name}": ${why}`);
    const patch = {
      metadata: { resourceVersion: model.metadata.resourceVersion, annotations: { [annotation]: 'true' } },
    };
    try {
      await client.patch(ref, patch, 'application/merge-patch+json');
      return `maintenancemodel "${ref.name}" ${action} requested (${annotation}); the operator removes the annotation once it acts\n`;
    } catch (e) {
      if (!isConflict(e) || attempt >= 3) throw e;
    }
  }
}

/** Prints the status, then again on every change until interrupted (a watch that resumes when it ends). */
async function watchStatus(
  client: KubeClient,
  ref: ObjectRef,
  print: (model: MaintenanceModel) => void,
): Promise<never> {
  const signal = new AbortController().signal;
  let shown: string | undefined;
  // A re-read after a watch ends is often the version already on screen.
  const out = (model: MaintenanceModel) => {
    if (model.metadata.resourceVersion === shown) return;
    shown = model.metadata.resourceVersion;
    print(model);
  };
  for (;;) {
    const model = await getModel(client, ref);
    out(model);
    let deleted = false;
    try {
      await client.watch(
        { apiVersion: ref.apiVersion, kind: ref.kind },
        {
          namespace: ref.namespace,
          fieldSelector: `metadata.name=${ref.name}`,
          resourceVersion: model.metadata.resourceVersion ?? '',
          timeoutSeconds: 300,
          idleTimeoutMs: 330_000,
        },
        (event: WatchEvent) => {
          if (event.type === 'MODIFIED') out(event.object as MaintenanceModel);
          if (event.type === 'DELETED') deleted = true;
        },
        signal,
      );
    } catch (e) {
      // 410: the resourceVersion is too old to watch from; read the model again.
      if (!isGone(e)) throw e;
    }
    if (deleted) throw new Error(`maintenancemodel "${ref.name}" was deleted`);
  }
}

async function run(command: Command): Promise<void> {
  if (command.kind === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  const { client, namespace } = connect(command);
  const ref = refTo(command.name, command.namespace ?? namespace);
  if (command.kind === 'action') {
    process.stdout.write(await act(client, ref, command.action));
    return;
  }
  const print = (model: MaintenanceModel) => process.stdout.write(renderStatus(model, new Date()));
  if (!command.watch) {
    print(await getModel(client, ref));
    return;
  }
  // A terminal is redrawn in place; a pipe gets each state after a blank line.
  const clear = process.stdout.isTTY ? '\x1b[H\x1b[2J' : '\n';
  let first = true;
  await watchStatus(client, ref, (model) => {
    process.stdout.write(first && !process.stdout.isTTY ? '' : clear);
    first = false;
    print(model);
  });
}

/** Exits once what was written has been flushed; the client's keep-alive connections would hold the process open. */
function exit(code: number, stderr = ''): void {
  process.stderr.write(stderr, () => process.stdout.write('', () => process.exit(code)));
}

try {
  await run(parseArgs(process.argv.slice(2)));
  exit(0);
} catch (e) {
  if (e instanceof UsageError) exit(2, `error: ${e.message}\n\n${USAGE}`);
  else exit(1, `error: ${e instanceof Error ? e.message : String(e)}\n`);
}
