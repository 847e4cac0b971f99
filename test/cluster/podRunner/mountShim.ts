/**
 * Preloaded (`node --import`) into container processes that have volume mounts, so that hard-coded
 * paths under a mountPath reach the volume (see fsPathShim.ts).
 */
import { installFsPathShim, mountsEnvVar } from './fsPathShim.ts';
import type { MountMapping } from './paths.ts';

const raw = process.env[mountsEnvVar];
if (raw) installFsPathShim(JSON.parse(raw) as MountMapping[]);
