-- Holds the rollout at its current step (analysis keeps running). The operator acts on the annotation, then removes it.
if obj.metadata.annotations == nil then
  obj.metadata.annotations = {}
end
obj.metadata.annotations["prognos.dev/pause"] = "true"
return obj
