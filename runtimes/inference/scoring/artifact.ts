// Fetches model artifact bytes and verifies their sha256 before anything parses them: a model that
// fails verification must never reach onnxruntime.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { ArtifactErrorReason } from '../../../contracts/loadCheck.ts';

export class ArtifactError extends Error {
  readonly reason: ArtifactErrorReason;
  readonly uri: string;
  constructor(reason: ArtifactErrorReason, uri: string, message: string, options?: { cause?: unknown }) {
    super(`${reason}: ${uri}: ${message}`, options);
    this.name = 'ArtifactError';
    this.reason = reason;
    this.uri = uri;
  }
}

/** Reads `name` from NATS object store `bucket` (runtime-io injects one backed by @nats-io/obj). */
export type ObjectStoreReader = (bucket: string, name: string) => Promise<Uint8Array>;

export interface ArtifactRef {
  uri: string;
  sha256: string;
}

export interface FetchArtifactDeps {
  readObject?: ObjectStoreReader;
  fetch?: typeof fetch;
  timeoutMs?: number;
  maxBytes?: number;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Parses `nats-os://<bucket>/<name>` (the name may contain slashes). */
export function parseObjectStoreUri(uri: string): { bucket: string; name: string } | undefined {
  const match = /^nats-os:\/\/([A-Za-z0-9_-]+)\/(.+)$/.exec(uri);
  return match ? { bucket: match[1]!, name: decodeURIComponent(match[2]!) } : undefined;
}

export async function fetchArtifact(ref: ArtifactRef, deps: FetchArtifactDeps = {}): Promise<Uint8Array> {
  const maxBytes = deps.maxBytes ?? 512 * 2 ** 20;
  let bytes: Uint8Array;
  try {
    bytes = await readBytes(ref.uri, deps, maxBytes);
  } catch (error) {
    if (error instanceof ArtifactError) throw error;
    throw new ArtifactError('fetch_failed', ref.uri, (error as Error).message, { cause: error });
  }
  const actual = sha256Hex(bytes);
  if (actual !== ref.sha256.toLowerCase()) {
    throw new ArtifactError('digest_mismatch', ref.uri, `expected sha256 ${ref.sha256}, got ${actual}`);
  }
  return bytes;
}

async function readBytes(uri: string, deps: FetchArtifactDeps, maxBytes: number): Promise<Uint8Array> {
  if (uri.startsWith('file://')) return new Uint8Array(await readFile(fileURLToPath(uri)));
  if (uri.startsWith('https://')) {
    const response = await (deps.fetch ?? fetch)(uri, {
      signal: AbortSignal.timeout(deps.timeoutMs ?? 60_000),
    });
    if (!response.ok) throw new ArtifactError('fetch_failed', uri, `HTTP ${response.status}`);
    const declared = Number(response.headers.get('content-length') ?? 0);
    if (declared > maxBytes)
      throw new ArtifactError('fetch_failed', uri, `${declared} bytes exceeds ${maxBytes}`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (bytes.byteLength > maxBytes)
      throw new ArtifactError('fetch_failed', uri, `${bytes.byteLength} bytes exceeds ${maxBytes}`);
    return bytes;
  }
  const object = parseObjectStoreUri(uri);
  if (object) {
    if (!deps.readObject)
      throw new ArtifactError('fetch_failed', uri, 'no NATS object store reader configured');
    return deps.readObject(object.bucket, object.name);
  }
  throw new ArtifactError('fetch_failed', uri, 'unsupported URI scheme (file://, https://, nats-os://)');
}
