/** RetrainPolicy: when and how a MaintenanceModel is retrained, and how a retrained candidate is gated. */
import type { V1PodTemplateSpec } from '@kubernetes/client-node';
import { Type, type Static } from '@sinclair/typebox';
import {
  Conditions,
  Duration,
  LocalObjectReference,
  Obj,
  ObservedGeneration,
  ResourceRequirements,
  StringEnum,
  Timestamp,
  TypeMeta,
  rule,
} from './meta.ts';
import { MODEL_INPUT_PATTERN } from './maintenanceModel.ts';

export const RETRAIN_POLICY_KIND = 'RetrainPolicy';
export const RETRAIN_POLICY_PLURAL = 'retrainpolicies';

export const DRIFT_METHODS = ['psi', 'ks', 'wasserstein'] as const;
export const METRICS = ['f1', 'precision', 'recall', 'rmse', 'mae'] as const;
export type Metric = (typeof METRICS)[number];
export const TRIGGER_REASONS = ['Drift', 'Performance', 'Schedule', 'Manual'] as const;
export type TriggerReason = (typeof TRIGGER_REASONS)[number];
export const CANDIDATE_VERDICTS = ['Evaluating', 'Passed', 'Failed', 'Promoted', 'Rejected'] as const;
export type CandidateVerdict = (typeof CANDIDATE_VERDICTS)[number];

/** Metrics where larger is better; the others (errors) are better when smaller. */
export const HIGHER_IS_BETTER: readonly Metric[] = ['f1', 'precision', 'recall'];

/** Five space-separated cron fields, or a @-macro, as Kubernetes CronJobs accept. */
const CRON_REGEX = '^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|(\\S+\\s+){4}\\S+)$';

function MetricEnum(description: string) {
  return StringEnum(METRICS, { description });
}

const DriftTrigger = Obj(
  "Retrain when the distribution of the model's inputs moves away from the training baseline (from the runtimes' per-feature histograms).",
  {
    method: StringEnum(DRIFT_METHODS, {
      description:
        "psi: population stability index (0.1 moderate, 0.2 significant shift). ks: Kolmogorov-Smirnov distance (0 to 1). wasserstein: earth mover's distance, in feature units.",
      default: 'psi',
    }),
    threshold: Type.Number({
      description: 'Drift score (per feature, by method) above which retraining starts, e.g. 0.2 for psi.',
      exclusiveMinimum: 0,
    }),
    window: Duration('Recent readings compared with the baseline, e.g. 1h.', { default: '1h' }),
    minSamples: Type.Integer({
      description:
        'Readings the window must hold before drift is judged, so quiet periods do not look like drift.',
      minimum: 1,
      default: 1000,
    }),
    features: Type.Optional(
      Type.Array(
        Type.String({
          description: 'A model input name.',
          minLength: 1,
          maxLength: 96,
          pattern: MODEL_INPUT_PATTERN,
        }),
        {
          description: 'Model inputs to watch. Omitted: all of them.',
          minItems: 1,
          maxItems: 1024,
          'x-kubernetes-list-type': 'set',
        },
      ),
    ),
  },
  {
    'x-kubernetes-validations': [
      rule("self.method != 'ks' || self.threshold <= 1.0", 'a ks drift threshold must lie in (0, 1]'),
    ],
  },
);

const PerformanceTrigger = Obj(
  'Retrain when accuracy measured against maintenance labels (spec.labels of the fleet) degrades.',
  {
    metric: MetricEnum(
      'f1, precision, recall (classification; retrain when below threshold) or rmse, mae (regression; retrain when above threshold).',
    ),
    threshold: Type.Number({
      description: 'Metric value that starts retraining (see metric for the direction).',
      minimum: 0,
    }),
    minLabels: Type.Integer({
      description: 'Labelled outcomes needed before the metric is trusted.',
      minimum: 1,
      default: 50,
    }),
  },
  {
    'x-kubernetes-validations': [
      rule(
        "!(self.metric in ['f1', 'precision', 'recall']) || self.threshold <= 1.0",
        'f1, precision and recall thresholds must lie in [0, 1]',
      ),
    ],
  },
);

const Triggers = Obj(
  'What starts a retraining Job; at least one of drift, performance or schedule. Triggers within cooldown of the last one are ignored.',
  {
    drift: Type.Optional(DriftTrigger),
    performance: Type.Optional(PerformanceTrigger),
    schedule: Type.Optional(
      Type.String({
        description:
          'Cron schedule (UTC), five fields like a CronJob\'s, e.g. "0 3 * * 0" for Sundays at 03:00, or @weekly.',
        minLength: 1,
        maxLength: 128,
        'x-kubernetes-validations': [
          rule(
            `self.matches('${CRON_REGEX.replaceAll('\\', '\\\\')}')`,
            'schedule must be five cron fields (minute hour day-of-month month day-of-week) or a macro like @daily',
          ),
        ],
      }),
    ),
  },
  {
    'x-kubernetes-validations': [
      rule(
        'has(self.drift) || has(self.performance) || has(self.schedule)',
        'triggers needs at least one of drift, performance or schedule',
      ),
    ],
  },
);

/**
 * The embedded pod template is core/v1 PodTemplateSpec; the API server validates it when the Job
 * is created, so the CRD keeps it opaque (preserve-unknown-fields) instead of copying a huge schema.
 */
const PodTemplate = Type.Unsafe<V1PodTemplateSpec>(
  Type.Object(
    {},
    {
      description:
        "Pod template (core/v1 PodTemplateSpec) for the training Job, for volumes, node selectors, tolerations or a custom trainer. A container named trainer is used; the operator adds the data window, model and output location as environment. Omitted: the operator's default trainer pod.",
      additionalProperties: true,
      'x-kubernetes-preserve-unknown-fields': true,
    },
  ),
);

const Training = Obj(
  'The retraining Job.',
  {
    template: Type.Optional(PodTemplate),
    image: Type.Optional(
      Type.String({
        description:
          'Trainer image. Omitted: the trainer image released with the operator (its --trainer-image flag).',
        minLength: 1,
        maxLength: 512,
      }),
    ),
    resources: Type.Optional(ResourceRequirements('CPU and memory of the trainer container.')),
    dataWindow: Duration('How much recent data (readings and labels) the trainer learns from, e.g. 7d.', {
      default: '7d',
    }),
    timeout: Duration('Longest a training Job may run before it is stopped and counted as failed.', {
      default: '2h',
    }),
    backoffLimit: Type.Integer({
      description: "Retries of a failed training pod (the Job's backoffLimit).",
      minimum: 0,
      maximum: 10,
      default: 1,
    }),
  },
  { default: {} },
);

const Evaluation = Obj(
  'The gate a retrained candidate must pass before it may be promoted, measured on held-out recent data.',
  {
    metric: MetricEnum('Metric compared between the candidate and the stable version.'),
    mustBeatStable: Type.Boolean({
      description:
        'Whether the candidate must score better than the serving stable version on the same data.',
      default: true,
    }),
    minImprovement: Type.Number({
      description:
        'How much better than the stable the candidate must be, in metric units (e.g. 0.01 F1). Only with mustBeatStable.',
      minimum: 0,
      default: 0,
    }),
  },
  {
    'x-kubernetes-validations': [
      rule(
        'self.mustBeatStable || self.minImprovement == 0.0',
        'evaluation.minImprovement needs mustBeatStable',
      ),
    ],
  },
);

export const RetrainPolicySpec = Obj(
  'Desired behaviour of a RetrainPolicy: what triggers retraining of a model, how it trains, and how candidates are gated and promoted.',
  {
    modelRef: LocalObjectReference('The MaintenanceModel to retrain.', 'MaintenanceModel'),
    triggers: Triggers,
    cooldown: Duration('Least time between two retraining runs, however often triggers fire.', {
      default: '6h',
    }),
    training: Training,
    evaluation: Evaluation,
    promotion: StringEnum(['Auto', 'Manual'], {
      description:
        "Auto: a candidate that passes evaluation is rolled out as a canary right away (recorded in the model's status; spec is never written). Manual: it is listed in status.candidates and a person or a GitOps commit promotes it by setting it as the model's spec.model or rollout.candidate.",
      default: 'Manual',
    }),
  },
);
export type RetrainPolicySpec = Static<typeof RetrainPolicySpec>;

const Candidate = Obj('A retrained model and how it compared with the stable version.', {
  version: Type.String({ description: 'Version label given to the candidate.' }),
  uri: Type.String({
    description: 'Where the candidate artifact was stored (nats-os://prognos-models/...).',
  }),
  sha256: Type.String({ description: 'SHA-256 of the candidate artifact.' }),
  job: Type.Optional(Type.String({ description: 'Training Job that produced it.' })),
  trigger: Type.Optional(
    Type.String({ description: 'What started its training (Drift, Performance, Schedule, Manual).' }),
  ),
  createdAt: Timestamp('When training finished.'),
  metric: Type.Optional(Type.Number({ description: 'Evaluation metric of the candidate.' })),
  stableMetric: Type.Optional(
    Type.Number({ description: 'The same metric of the stable version on the same data.' }),
  ),
  verdict: StringEnum(CANDIDATE_VERDICTS, {
    description:
      'Evaluating: being measured. Passed: beat the gate, awaits promotion. Failed: did not pass the gate. Promoted: rolled out. Rejected: its rollout failed analysis.',
  }),
  message: Type.Optional(Type.String({ description: 'Details of the verdict.', maxLength: 1024 })),
});

const TriggerReason = StringEnum(TRIGGER_REASONS, {
  description: 'What fired. Manual: the prognos.dev/retrain annotation.',
});

export const RetrainPolicyStatus = Obj(
  'Observed state of a RetrainPolicy: drift seen, training in progress, candidates and history.',
  {
    observedGeneration: Type.Optional(ObservedGeneration),
    conditions: Type.Optional(Conditions),
    lastDrift: Type.Optional(
      Obj('The most recent drift measurement that exceeded the threshold.', {
        score: Type.Number({ description: 'Drift score by the configured method.' }),
        feature: Type.String({ description: 'Input with the largest drift.' }),
        method: Type.Optional(Type.String({ description: 'Method the score was computed with.' })),
        time: Timestamp('When it was measured.'),
      }),
    ),
    lastTriggerTime: Type.Optional(
      Timestamp('When a trigger last started retraining; cooldown counts from here.'),
    ),
    lastTriggerReason: Type.Optional(TriggerReason),
    runs: Type.Optional(
      Type.Integer({
        description: 'Training runs started so far: the next Job is named <policy>-<runs + 1>.',
        minimum: 0,
      }),
    ),
    activeJob: Type.Optional(
      Obj('The training Job running now.', {
        name: Type.String({ description: 'Job name.' }),
        startTime: Timestamp('When it started.'),
        trigger: TriggerReason,
      }),
    ),
    candidates: Type.Optional(
      Type.Array(Candidate, {
        description: 'Latest retrained candidates, newest first (at most 10).',
        maxItems: 10,
      }),
    ),
    history: Type.Optional(
      Type.Array(
        Obj('One past retraining run.', {
          time: Timestamp('When the run ended.'),
          trigger: TriggerReason,
          job: Type.String({ description: 'Training Job name.' }),
          outcome: StringEnum(['Succeeded', 'Failed', 'TimedOut'], { description: 'How the Job ended.' }),
          candidate: Type.Optional(Type.String({ description: 'Version of the candidate it produced.' })),
          message: Type.Optional(
            Type.String({ description: 'Details, e.g. the failure reason.', maxLength: 1024 }),
          ),
        }),
        { description: 'Latest retraining runs, newest first (at most 20).', maxItems: 20 },
      ),
    ),
  },
);
export type RetrainPolicyStatus = Static<typeof RetrainPolicyStatus>;

export const RetrainPolicy = Obj(
  'RetrainPolicy retrains a MaintenanceModel when its inputs drift or its accuracy drops (or on a schedule), gates the candidate against the serving model, and promotes the winner automatically or leaves it for a person.',
  {
    ...TypeMeta(RETRAIN_POLICY_KIND),
    spec: RetrainPolicySpec,
    status: Type.Optional(RetrainPolicyStatus),
  },
);
export type RetrainPolicy = Static<typeof RetrainPolicy>;
