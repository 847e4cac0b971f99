// Watches this model's live split in the rollouts KV bucket (key `<namespace>.<model>`) and applies
// every change as it arrives: a KV watch is a push consumer, so a weight change reaches the
// pipeline within milliseconds and needs no restart. The watch is an ordered consumer that nats.js
// recreates after disconnects and server restarts.
import { Kvm, type KvWatchEntry } from '@nats-io/kv';
import type { NatsConnection, QueuedIterator } from '@nats-io/transport-node';
import type { Logger } from 'pino';

export interface SplitWatcherOptions<S> {
  nc: NatsConnection;
  bucket: string;
  key: string;
  /** Validates a stored value (JSON text); throws on a bad one, which is then ignored and the current split stays. */
  parse(text: string): S;
  /** Called with the parsed split, or null when the key is deleted (no rollout in progress). */
  apply(split: S | null, revision: number): void;
  logger: Logger;
}

export interface SplitWatcher {
  stop(): Promise<void>;
}

/** Decodes one watch entry: null for a deletion, the parsed split, or an Error for a bad value. */
export function decodeSplitEntry<S>(
  entry: Pick<KvWatchEntry, 'operation' | 'string'>,
  parse: (text: string) => S,
): S | null | Error {
  if (entry.operation !== 'PUT') return null;
  try {
    return parse(entry.string());
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

export async function startSplitWatcher<S>(opts: SplitWatcherOptions<S>): Promise<SplitWatcher> {
  // The operator owns the bucket; creating it here (binds when it exists) lets a runtime start first.
  const kv = await new Kvm(opts.nc).create(opts.bucket, { history: 5 });
  // Applied before start returns, so input never starts under a missing split; the watch below
  // re-delivers it (idempotent) and then every change.
  const initial = await kv.get(opts.key);
  if (initial) {
    const decoded = decodeSplitEntry(initial, opts.parse);
    if (decoded instanceof Error)
      opts.logger.warn({ key: opts.key, err: decoded.message }, 'ignoring invalid rollout split');
    else opts.apply(decoded, initial.revision);
  }
  const watch: QueuedIterator<KvWatchEntry> = await kv.watch({ key: opts.key });
  const loop = (async () => {
    for await (const entry of watch) {
      const decoded = decodeSplitEntry(entry, opts.parse);
      if (decoded instanceof Error) {
        opts.logger.warn(
          { key: opts.key, revision: entry.revision, err: decoded.message },
          'ignoring invalid rollout split',
        );
        continue;
      }
      opts.logger.info({ key: opts.key, revision: entry.revision, split: decoded }, 'rollout split applied');
      opts.apply(decoded, entry.revision);
    }
  })().catch((error: unknown) => opts.logger.error({ err: error }, 'rollout split watch ended'));
  return {
    async stop() {
      watch.stop();
      await loop;
    },
  };
}
