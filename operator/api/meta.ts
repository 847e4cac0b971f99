/**
 * Building blocks shared by the three Prognos kinds. Every schema here is TypeBox, so the same
 * object gives the TypeScript type (`Static<>`), runtime checks (`@sinclair/typebox/value`) and,
 * through `crd.ts`, the OpenAPI the API server enforces.
 */
import type { V1ObjectMeta } from '@kubernetes/client-node';
import {
  FormatRegistry,
  Type,
  type ObjectOptions,
  type SchemaOptions,
  type Static,
  type TLiteral,
  type TProperties,
  type TUnion,
} from '@sinclair/typebox';

export const GROUP = 'prognos.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

/**
 * TypeBox refuses any string `format` it does not know; the API server knows `date-time`. A
 * status timestamp must be checkable in tests, so the format is taught to TypeBox once here.
 */
if (!FormatRegistry.Has('date-time')) {
  FormatRegistry.Set('date-time', (value) =>
    /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(value),
  );
}

/** One CEL rule as the API server reads it under `x-kubernetes-validations`. */
export interface ValidationRule {
  rule: string;
  message: string;
  /** JSONPath-like path (relative to the node holding the rule) reported with the error. */
  fieldPath?: string;
}

export function rule(celRule: string, message: string, fieldPath?: string): ValidationRule {
  return fieldPath === undefined ? { rule: celRule, message } : { rule: celRule, message, fieldPath };
}

/**
 * A closed object: unknown fields fail the TypeBox check (so a typo in a sample is caught in unit
 * tests); `crd.ts` drops `additionalProperties: false` because structural schemas forbid it and the
 * API server prunes or rejects unknown fields itself.
 */
export function Obj<T extends TProperties>(
  description: string,
  properties: T,
  options: ObjectOptions & { 'x-kubernetes-validations'?: ValidationRule[] } = {},
) {
  return Type.Object(properties, { additionalProperties: false, ...options, description });
}

type LiteralTuple<T extends readonly string[]> = { -readonly [K in keyof T]: TLiteral<T[K]> };

/** A closed set of strings; rendered as `enum` in the CRD. */
export function StringEnum<const T extends readonly [string, string, ...string[]]>(
  values: T,
  options: SchemaOptions & { description: string },
): TUnion<LiteralTuple<T>> {
  // The map loses the literal types that the tuple keeps; the cast restores them.
  return Type.Union(values.map((v) => Type.Literal(v)) as unknown as LiteralTuple<T>, options) as TUnion<
    LiteralTuple<T>
  >;
}

/** `5m`, `6h`, `7d`, `1h30m`: integer amounts of ms, s, m, h or d, largest first. See `duration.ts`. */
export const DURATION_PATTERN = '^([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?$';

export function Duration(description: string, options: SchemaOptions = {}) {
  // The pattern alone accepts the empty string; minLength closes that hole.
  return Type.String({ ...options, description, pattern: DURATION_PATTERN, minLength: 2, maxLength: 32 });
}
export type Duration = string;

/** RFC 1123 DNS subdomain: what Kubernetes accepts as most object names. */
export const DNS_SUBDOMAIN_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';

export function ObjectName(description: string) {
  return Type.String({ description, minLength: 1, maxLength: 253, pattern: DNS_SUBDOMAIN_PATTERN });
}

/** A reference to an object of a known kind in the same namespace. */
export function LocalObjectReference(description: string, target: string) {
  return Obj(description, { name: ObjectName(`Name of the ${target} in the same namespace.`) });
}
export type LocalObjectReference = Static<ReturnType<typeof LocalObjectReference>>;

/** A key of a Secret in the same namespace. */
export function SecretKeySelector(description: string, defaultKey: string, keyDescription: string) {
  return Obj(description, {
    name: ObjectName('Name of the Secret in the same namespace.'),
    key: Type.String({
      description: keyDescription,
      default: defaultKey,
      minLength: 1,
      maxLength: 253,
      pattern: '^[-._a-zA-Z0-9]+$',
    }),
  });
}
export type SecretKeySelector = Static<ReturnType<typeof SecretKeySelector>>;

/** Kubernetes resource quantity (`500m`, `2Gi`, `1`): an integer or a string, like core/v1. */
export const QUANTITY_PATTERN =
  '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$';

function Quantity() {
  return Type.Union([Type.Integer(), Type.String({ pattern: QUANTITY_PATTERN })], {
    'x-kubernetes-int-or-string': true,
  });
}

/** core/v1 ResourceRequirements, limited to requests and limits. */
export function ResourceRequirements(description: string) {
  return Obj(description, {
    requests: Type.Optional(
      Type.Record(Type.String(), Quantity(), {
        description:
          "Minimum resources the scheduler reserves, e.g. {cpu: 250m, memory: 256Mi}. Same meaning as a container's resources.requests.",
      }),
    ),
    limits: Type.Optional(
      Type.Record(Type.String(), Quantity(), {
        description:
          "Maximum resources the container may use, e.g. {cpu: '1', memory: 512Mi}. Same meaning as a container's resources.limits.",
      }),
    ),
  });
}
export type ResourceRequirements = Static<ReturnType<typeof ResourceRequirements>>;

/** metav1.Condition, field for field (same patterns and limits as the upstream CRDs use). */
export const Condition = Obj(
  'Condition is one aspect of the current state of the object, in the standard Kubernetes shape.',
  {
    type: Type.String({
      description: 'Type of condition in CamelCase, e.g. Ready. Unique within the list.',
      maxLength: 316,
      pattern:
        '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
    }),
    status: StringEnum(['True', 'False', 'Unknown'], {
      description: 'Status of the condition: True, False or Unknown.',
    }),
    observedGeneration: Type.Optional(
      Type.Integer({
        description:
          'metadata.generation the condition was computed from; older than the object means stale.',
        minimum: 0,
        format: 'int64',
      }),
    ),
    lastTransitionTime: Type.String({
      description: 'When the status last changed (not when it was last checked).',
      format: 'date-time',
    }),
    reason: Type.String({
      description: 'Machine-readable CamelCase reason for the last transition, e.g. ArtifactDigestMismatch.',
      minLength: 1,
      maxLength: 1024,
      pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
    }),
    message: Type.String({ description: 'Human-readable details about the transition.', maxLength: 32768 }),
  },
);
export type Condition = Static<typeof Condition>;

export const Conditions = Type.Array(Condition, {
  description: 'Standard conditions (type, status, reason, message, lastTransitionTime), one per type.',
  maxItems: 32,
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['type'],
});

export const ObservedGeneration = Type.Integer({
  description:
    'metadata.generation this status was computed from; when it lags, the status is not current yet.',
  minimum: 0,
  format: 'int64',
});

export function Timestamp(description: string) {
  return Type.String({ description, format: 'date-time' });
}

/**
 * Object metadata as the TypeBox check sees it (a sample must name itself); typed as the client's
 * V1ObjectMeta so reconcilers can hand it to @kubernetes/client-node unchanged. The CRD never uses
 * this: the API server owns metadata's schema.
 */
export const ObjectMeta = Type.Unsafe<V1ObjectMeta>(
  Type.Object(
    {
      name: Type.Optional(ObjectName('Object name.')),
      namespace: Type.Optional(ObjectName('Object namespace.')),
      labels: Type.Optional(Type.Record(Type.String(), Type.String())),
      annotations: Type.Optional(Type.Record(Type.String(), Type.String())),
    },
    { additionalProperties: true },
  ),
);

/** `apiVersion`, `kind` and `metadata` of a Prognos object of the given kind. */
export function TypeMeta<K extends string>(kind: K) {
  return {
    apiVersion: Type.Literal(API_VERSION, { description: `${API_VERSION}` }),
    kind: Type.Literal(kind, { description: kind }),
    metadata: ObjectMeta,
  };
}
