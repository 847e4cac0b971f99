// How a model artifact URI is read: file://, https:// (optionally trusting a CA of the user's) and
// nats-os://<bucket>/<object>. The operator (before verifying), the runtime (before serving) and the
// trainer read artifacts through this one module, so they agree on what a URI means, on the size
// limit and on why a read failed. Bytes are read as a stream and the read stops at the size limit:
// an oversized artifact is never buffered whole.
import { open } from 'node:fs/promises';
import { request } from 'node:https';
import { fileURLToPath } from 'node:url';
import type { ObjectStore } from '@nats-io/obj';

/** Why an artifact could not be read. Each maps to its own condition reason in the operator. */
export type ArtifactReadFailure =
  'not_found' | 'timeout' | 'too_large' | 'tls' | 'unreachable' | 'unsupported';

export class ArtifactReadError extends Error {
  readonly failure: ArtifactReadFailure;
  readonly uri: string;
  constructor(failure: ArtifactReadFailure, uri: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ArtifactReadError';
    this.failure = failure;
    this.uri = uri;
  }
}

/** 256 MiB: well above tree ensembles and small networks (KB to tens of MB), below a pod's memory. */
export const DEFAULT_MAX_ARTIFACT_BYTES = 256 * 2 ** 20;
export const DEFAULT_ARTIFACT_TIMEOUT_MS = 30_000;

export interface ArtifactReadOptions {
  maxBytes: number;
  /** The whole read, connection to last byte. */
  timeoutMs: number;
  /** PEM CA certificates trusted for https:// instead of the system roots. */
  ca?: string;
  /** Opens an object store bucket on the fleet's NATS (for nats-os://). */
  objectStore?: (bucket: string) => Promise<ObjectStore>;
  /** Aborts the read (for example when the caller lost its lease). */
  signal?: AbortSignal;
}

/** Parses `nats-os://<bucket>/<name>` (the name may contain slashes). */
export function parseObjectStoreUri(uri: string): { bucket: string; name: string } | undefined {
  const match = /^nats-os:\/\/([A-Za-z0-9_-]+)\/(.+)$/.exec(uri);
  return match ? { bucket: match[1]!, name: decodeURIComponent(match[2]!) } : undefined;
}

const sizeError = (uri: string, size: number | string, maxBytes: number): ArtifactReadError =>
  new ArtifactReadError('too_large', uri, `${uri} is ${size} bytes, above the limit of ${maxBytes} bytes`);

/** Collects chunks until the end, refusing as soon as they add up to more than `maxBytes`. */
async function collect(
  uri: string,
  chunks: AsyncIterable<Uint8Array>,
  maxBytes: number,
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of chunks) {
    total += chunk.byteLength;
    if (total > maxBytes) throw sizeError(uri, `more than ${maxBytes}`, maxBytes);
    parts.push(chunk);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.byteLength;
  }
  return bytes;
}

/** Reads an artifact's bytes (the caller verifies its sha256). Throws ArtifactReadError. */
export async function readArtifact(uri: string, opts: ArtifactReadOptions): Promise<Uint8Array> {
  const signal = opts.signal
    ? AbortSignal.any([opts.signal, AbortSignal.timeout(opts.timeoutMs)])
    : AbortSignal.timeout(opts.timeoutMs);
  try {
    if (uri.startsWith('file://')) return await readFileArtifact(uri, opts.maxBytes, signal);
    if (uri.startsWith('https://')) return await readHttpsArtifact(uri, opts, signal);
    const object = parseObjectStoreUri(uri);
    if (object) {
      if (!opts.objectStore)
        throw new ArtifactReadError('unreachable', uri, 'no NATS connection for nats-os://');
      const store = await opts.objectStore(object.bucket);
      return await readObject(uri, store, object.name, opts.maxBytes, signal);
    }
  } catch (error) {
    throw classify(uri, error, signal, opts.timeoutMs);
  }
  throw new ArtifactReadError(
    'unsupported',
    uri,
    `${uri}: unsupported scheme (file://, https://, nats-os://)`,
  );
}

function classify(uri: string, error: unknown, signal: AbortSignal, timeoutMs: number): ArtifactReadError {
  if (error instanceof ArtifactReadError) return error;
  const e = error as Error & { code?: string };
  if (signal.aborted) {
    const timedOut = (signal.reason as Error | undefined)?.name === 'TimeoutError';
    return timedOut
      ? new ArtifactReadError('timeout', uri, `reading ${uri} took longer than ${timeoutMs} ms`, { cause: e })
      : new ArtifactReadError('unreachable', uri, `reading ${uri} was aborted`, { cause: e });
  }
  if (e.code === 'ENOENT')
    return new ArtifactReadError('not_found', uri, `${uri}: no such file`, { cause: e });
  // Node's TLS verification errors (unknown CA, self-signed, expired, wrong host name).
  if (
    e.code !== undefined &&
    /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL|HOSTNAME_MISMATCH|ALTNAME/.test(e.code)
  )
    return new ArtifactReadError('tls', uri, `TLS with ${new URL(uri).host} failed: ${e.message}`, {
      cause: e,
    });
  return new ArtifactReadError('unreachable', uri, `cannot read ${uri}: ${e.message}`, { cause: e });
}

async function readFileArtifact(uri: string, maxBytes: number, signal: AbortSignal): Promise<Uint8Array> {
  const file = await open(fileURLToPath(uri));
  try {
    const { size } = await file.stat();
    if (size > maxBytes) throw sizeError(uri, size, maxBytes);
    return await collect(uri, file.createReadStream({ signal }), maxBytes);
  } finally {
    await file.close();
  }
}

function readHttpsArtifact(uri: string, opts: ArtifactReadOptions, signal: AbortSignal): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const req = request(uri, { signal, ...(opts.ca ? { ca: opts.ca } : {}) }, (res) => {
      const status = res.statusCode ?? 0;
      if (status === 404 || status === 410) {
        res.resume();
        return reject(new ArtifactReadError('not_found', uri, `${uri}: HTTP ${status}`));
      }
      if (status < 200 || status >= 300) {
        res.resume();
        return reject(new ArtifactReadError('unreachable', uri, `${uri}: HTTP ${status}`));
      }
      const declared = Number(res.headers['content-length'] ?? 0);
      if (declared > opts.maxBytes) {
        res.destroy();
        return reject(sizeError(uri, declared, opts.maxBytes));
      }
      collect(uri, res, opts.maxBytes).then(resolve, (error: unknown) => {
        res.destroy();
        reject(error);
      });
    });
    req.once('error', reject);
    req.end();
  });
}

async function readObject(
  uri: string,
  store: ObjectStore,
  name: string,
  maxBytes: number,
  signal: AbortSignal,
): Promise<Uint8Array> {
  const info = await store.info(name);
  if (!info || info.deleted) throw new ArtifactReadError('not_found', uri, `${uri}: no object ${name}`);
  if (info.size > maxBytes) throw sizeError(uri, info.size, maxBytes);
  const result = await store.get(name);
  if (!result) throw new ArtifactReadError('not_found', uri, `${uri}: no object ${name}`);
  const reader = result.data.getReader();
  const onAbort = (): void => void reader.cancel(signal.reason).catch(() => undefined);
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    const chunks = async function* (): AsyncIterable<Uint8Array> {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        yield value;
      }
    };
    const bytes = await collect(uri, chunks(), maxBytes);
    const failed = await result.error;
    if (failed) throw failed;
    if (signal.aborted) throw signal.reason;
    return bytes;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
