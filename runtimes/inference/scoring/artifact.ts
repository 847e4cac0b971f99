// Fetches model artifact bytes (contracts/artifactStore.ts: the same reader the operator verifies
// with) and checks their sha256 before anything parses them: a model that fails verification must
// never reach onnxruntime.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  ArtifactReadError,
  DEFAULT_ARTIFACT_TIMEOUT_MS,
  DEFAULT_MAX_ARTIFACT_BYTES,
  parseObjectStoreUri,
  readArtifact,
} from '../../../contracts/artifactStore.ts';
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

/**
 * Reads a nats-os:// artifact. In the pipeline worker it asks the main thread, which holds the NATS
 * connection and reads through contracts/artifactStore.ts with the same size limit.
 */
export type ObjectStoreReader = (uri: string, maxBytes: number) => Promise<Uint8Array>;

export interface ArtifactRef {
  uri: string;
  sha256: string;
  /** PEM file of the CA trusted for https:// (a mounted Secret). */
  caFile?: string;
}

export interface FetchArtifactDeps {
  readObject?: ObjectStoreReader;
  timeoutMs?: number;
  maxBytes?: number;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export async function fetchArtifact(ref: ArtifactRef, deps: FetchArtifactDeps = {}): Promise<Uint8Array> {
  const maxBytes = deps.maxBytes ?? DEFAULT_MAX_ARTIFACT_BYTES;
  let bytes: Uint8Array;
  try {
    if (parseObjectStoreUri(ref.uri)) {
      if (!deps.readObject) throw new Error('no NATS object store reader configured');
      bytes = await deps.readObject(ref.uri, maxBytes);
    } else {
      bytes = await readArtifact(ref.uri, {
        maxBytes,
        timeoutMs: deps.timeoutMs ?? DEFAULT_ARTIFACT_TIMEOUT_MS,
        ...(ref.caFile ? { ca: await readFile(ref.caFile, 'utf8') } : {}),
      });
    }
  } catch (error) {
    const message =
      error instanceof ArtifactReadError ? `${error.failure}: ${error.message}` : (error as Error).message;
    throw new ArtifactError('fetch_failed', ref.uri, message, { cause: error });
  }
  const actual = sha256Hex(bytes);
  if (actual !== ref.sha256.toLowerCase()) {
    throw new ArtifactError('digest_mismatch', ref.uri, `expected sha256 ${ref.sha256}, got ${actual}`);
  }
  return bytes;
}
