// Maintenance events (labels) on prognos.labels.<ns>.<fleet>.<machine>: what SubmitFeedback publishes
// and what resets `count_since_maintenance`. Versioned JSON (`schema: 1`).
import { MACHINE_ID_PATTERN } from './reading.ts';

export const LABEL_EVENTS = ['failure', 'repair', 'inspection', 'maintenance'] as const;
export type LabelEvent = (typeof LABEL_EVENTS)[number];

/** Events after which a machine counts as freshly maintained. */
export const RESETTING_EVENTS: ReadonlySet<string> = new Set<LabelEvent>(['repair', 'maintenance']);

export const MAX_NOTE_CHARS = 1024;

/**
 * The machine a maintenance event is about: the event's own machineId (what SubmitFeedback publishes),
 * else, on the fleet's own events subject, found as for readings (a subject token or a JSON field).
 */
export function labelMachine(
  subject: string,
  event: Record<string, unknown>,
  source: { subjectToken: number } | { field: string },
): string | undefined {
  const named = event['machineId'];
  const id =
    typeof named === 'string'
      ? named
      : 'subjectToken' in source
        ? subject.split('.')[source.subjectToken - 1]
        : event[source.field];
  return typeof id === 'string' && MACHINE_ID_PATTERN.test(id) ? id : undefined;
}
/** Clock skew tolerated for reported event times. */
export const MAX_LABEL_FUTURE_MS = 5 * 60_000;

export interface Label {
  schema: 1;
  machineId: string;
  event: LabelEvent;
  /** When it happened, epoch ms. */
  ts: number;
  note?: string;
  source: string;
}

export type LabelResult =
  { ok: true; label: Label } | { ok: false; field: string; reason: string; detail: string };

/** Validates a feedback request (gRPC field names) into a label. */
export function buildLabel(
  req: { machineId: string; event: string; tsMs: number; note: string },
  now: number,
  source: string,
): LabelResult {
  if (!MACHINE_ID_PATTERN.test(req.machineId)) {
    return {
      ok: false,
      field: 'machine_id',
      reason: 'bad_machine_id',
      detail: 'must match [A-Za-z0-9_-]{1,64}',
    };
  }
  if (!(LABEL_EVENTS as readonly string[]).includes(req.event)) {
    return {
      ok: false,
      field: 'event',
      reason: 'unknown_event',
      detail: `one of ${LABEL_EVENTS.join(', ')}`,
    };
  }
  if (!Number.isSafeInteger(req.tsMs) || req.tsMs < 0) {
    return { ok: false, field: 'ts_ms', reason: 'bad_timestamp', detail: 'epoch milliseconds, or 0 for now' };
  }
  if (req.tsMs > now + MAX_LABEL_FUTURE_MS) {
    return {
      ok: false,
      field: 'ts_ms',
      reason: 'timestamp_in_future',
      detail: `more than ${MAX_LABEL_FUTURE_MS} ms ahead`,
    };
  }
  if (req.note.length > MAX_NOTE_CHARS) {
    return { ok: false, field: 'note', reason: 'too_long', detail: `at most ${MAX_NOTE_CHARS} characters` };
  }
  const label: Label = {
    schema: 1,
    machineId: req.machineId,
    event: req.event as LabelEvent,
    ts: req.tsMs || now,
    source,
  };
  if (req.note) label.note = req.note;
  return { ok: true, label };
}
