// The main thread's side of machine alerts: what the pipeline worker reports (transitions and
// refreshes of active alerts) goes to the shared alert-state store and to Alertmanager, and what
// other replicas write to the store goes back to the worker's hysteresis state.
//
// Each replica keeps the active alerts of the machines it scored and re-sends them every refresh
// interval, also when readings stop (a machine that broke down keeps its alert), until the machine
// is idle for `idleMs` (the runtime's machineTtlSeconds: its windows are evicted too); then it stops,
// and Alertmanager ends the alert at its last endsAt. A write by another replica means that replica
// scores the machine now: this one lets it go.
import type { AlertState } from '../decision/alerts.ts';
import type { AlertEvent, AlertRefresh } from '../pipeline/pipeline.ts';
import type { AlertSink } from './alertmanagerSink.ts';
import type { AlertStateStore, StoredAlertState } from './alertStateStore.ts';
import { deliveriesOf, firingOf, type MachineAlert } from './machineAlert.ts';

interface Active {
  alert: MachineAlert;
  /** Last time the worker reported it (a transition or a refresh), epoch ms. */
  seenAt: number;
  /** Last time it was sent to Alertmanager and written to the store, epoch ms. */
  sentAt: number;
}

export interface MachineAlertsOptions {
  store: Pick<AlertStateStore, 'write'>;
  /** Absent when no Alertmanager is configured: the shared state is kept all the same. */
  sink?: Pick<AlertSink, 'send' | 'room'>;
  restore(states: [string, AlertState | null][], handedOut: boolean): void;
  refreshMs: number;
  idleMs: number;
  now?: () => number;
}

export class MachineAlerts {
  readonly #opts: MachineAlertsOptions;
  readonly #now: () => number;
  readonly #active = new Map<string, Active>();

  constructor(opts: MachineAlertsOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
  }

  /** Machines whose alerts this replica holds. */
  get active(): ReadonlyMap<string, { alert: MachineAlert }> {
    return this.#active;
  }

  /** A batch's transitions (already published on NATS) and refreshes. */
  onBatch(alerts: readonly AlertEvent[], refreshes: readonly AlertRefresh[]): void {
    const now = this.#now();
    const { store, sink } = this.#opts;
    for (const t of alerts) {
      store.write(t.machineId, t.to === 'ok' ? null : { severity: t.to, since: t.ts });
      let firing: MachineAlert | undefined;
      for (const d of deliveriesOf(t)) {
        sink?.send(d);
        if (d.firing) firing = d;
      }
      if (firing) this.#active.set(t.machineId, { alert: firing, seenAt: now, sentAt: now });
      else this.#active.delete(t.machineId);
    }
    for (const r of refreshes) {
      const alert = firingOf(r);
      store.write(r.machineId, { severity: r.severity, since: r.since });
      sink?.send(alert);
      this.#active.set(r.machineId, { alert, seenAt: now, sentAt: now });
    }
  }

  /** Another replica wrote a machine's state: it scores the machine now. */
  onForeign(machineId: string, state: StoredAlertState): void {
    this.#opts.restore(
      [[machineId, state.severity === 'ok' ? null : { severity: state.severity, since: state.since }]],
      true,
    );
    this.#active.delete(machineId);
  }

  /**
   * Re-sends the active alerts due for a refresh, as many as the delivery queue has room for (a
   * refresh never pushes a queued transition out; the rest stay due for the next tick); lets go of
   * machines idle for idleMs.
   */
  tick(): void {
    const now = this.#now();
    let room = this.#opts.sink ? this.#opts.sink.room() : Infinity;
    for (const [machineId, a] of this.#active) {
      if (now - a.seenAt >= this.#opts.idleMs) {
        this.#active.delete(machineId);
        continue;
      }
      if (now - a.sentAt < this.#opts.refreshMs || room <= 0) continue;
      room -= 1;
      a.sentAt = now;
      this.#opts.store.write(machineId, { severity: a.alert.severity, since: a.alert.since });
      this.#opts.sink?.send(a.alert);
    }
  }
}
