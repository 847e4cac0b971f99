{{- /*
The operator's rights on namespaced kinds, each derived from a call the code makes (docs/operator.md,
"RBAC"): a ClusterRole when it watches every namespace, a Role in .Values.watchNamespace otherwise.
Keep in step with config/rbac/role.yaml and config/namespaced/role.yaml (test/integration/rbac.render.test.ts).
*/ -}}
{{- define "prognos.operatorRules" -}}
# Informers (list, watch); finalizers: a merge patch, the object read again (get) on a 409.
- apiGroups: [prognos.dev]
  resources: [sensorfleets, maintenancemodels, retrainpolicies]
  verbs: [get, list, watch, patch]
# Status: server-side apply on the status subresource.
- apiGroups: [prognos.dev]
  resources: [sensorfleets/status, maintenancemodels/status, retrainpolicies/status]
  verbs: [patch]
# Children's ownerReferences set blockOwnerDeletion, which the OwnerReferencesPermissionEnforcement
# admission plugin (on in OpenShift) allows only to who may update the owner's finalizers.
- apiGroups: [prognos.dev]
  resources: [maintenancemodels/finalizers, retrainpolicies/finalizers]
  verbs: [update]
# A model's children: cached by label (list, watch), written by server-side apply (patch, and create
# when the object is new); the garbage collector deletes them with the model. A rollout's candidate
# children (ConfigMap, Deployment, the canary's Service) are deleted when it ends.
- apiGroups: ['']
  resources: [configmaps, services]
  verbs: [list, watch, create, patch, delete]
# A RetrainPolicy's training Jobs: cached by label, created once per run, old ones deleted past the
# history limits; a finished Job's pods are listed once for the trainer's termination message.
- apiGroups: [batch]
  resources: [jobs]
  verbs: [list, watch, create, delete]
- apiGroups: ['']
  resources: [pods]
  verbs: [list]
- apiGroups: [apps]
  resources: [deployments]
  verbs: [list, watch, create, patch, delete]
# A model scaled down to one replica deletes its budget.
- apiGroups: [policy]
  resources: [poddisruptionbudgets]
  verbs: [list, watch, create, patch, delete]
# serving.autoscaling without KEDA: a cached, applied HPA, deleted when autoscaling goes (or KEDA comes).
- apiGroups: [autoscaling]
  resources: [horizontalpodautoscalers]
  verbs: [list, watch, create, patch, delete]
{{- if .Values.serviceMonitors }}
# Applied while the prometheus-operator CRD serves them; never read.
- apiGroups: [monitoring.coreos.com]
  resources: [servicemonitors]
  verbs: [create, patch]
{{- end }}
{{- if .Values.keda }}
# serving.autoscaling with KEDA: applied when it changes, deleted when autoscaling goes; never read.
- apiGroups: [keda.sh]
  resources: [scaledobjects]
  verbs: [create, patch, delete]
{{- end }}
{{- if .Values.gatewayApi }}
# serving.grpcRoute with the Gateway API: applied when it changes (the canary's weight), deleted when
# no longer asked for; never read.
- apiGroups: [gateway.networking.k8s.io]
  resources: [grpcroutes]
  verbs: [create, patch, delete]
{{- end }}
# The Secrets a SensorFleet names (NATS credentials, TLS), each watched alone (field selector
# metadata.name): only referenced Secrets are cached, a rotation is seen at once. Never a GET.
- apiGroups: ['']
  resources: [secrets]
  verbs: [list, watch]
# events.k8s.io/v1 Events; a repeat patches the series count.
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [create, patch]
{{- end -}}
