/**
 * The retrained candidate a model rolls out with no one writing spec: the newest candidate that
 * passed the gate of a RetrainPolicy with promotion Auto naming the model, unless it already serves
 * or its rollout was rolled back. And which artifact serves when spec.model is the one an automatic
 * promotion replaced. Pure.
 */
import type { MaintenanceModel } from '../../../api/maintenanceModel.ts';
import type { RetrainPolicy } from '../../../api/retrainPolicy.ts';

export interface RetrainCandidate {
  policy: string;
  version: string;
  uri: string;
  sha256: string;
}

export function retrainCandidate(
  model: MaintenanceModel,
  policies: readonly RetrainPolicy[],
): RetrainCandidate | undefined {
  const ns = model.metadata.namespace;
  const serving = model.status?.stable?.sha256;
  const rejected = model.status?.rolledBack?.sha256;
  const passed = policies
    .filter(
      (p) =>
        p.metadata.namespace === ns &&
        !p.metadata.deletionTimestamp &&
        p.spec.modelRef.name === model.metadata.name &&
        p.spec.promotion === 'Auto',
    )
    .flatMap((p) =>
      (p.status?.candidates ?? [])
        .filter((c) => c.verdict === 'Passed' && c.sha256 !== serving && c.sha256 !== rejected)
        .map((c) => ({ policy: p.metadata.name!, candidate: c })),
    )
    .sort((a, b) => Date.parse(b.candidate.createdAt) - Date.parse(a.candidate.createdAt));
  const newest = passed[0];
  if (!newest) return undefined;
  const { version, uri, sha256 } = newest.candidate;
  return { policy: newest.policy, version, uri, sha256 };
}

/** spec.model is what an automatic promotion replaced: the promoted candidate serves, not spec.model. */
export function specSuperseded(model: MaintenanceModel): boolean {
  const auto = model.status?.autoPromoted;
  return !!auto && auto.over === model.spec.model.sha256;
}
