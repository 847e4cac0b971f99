-- Starts the rolled-back version's rollout again. The operator acts on the annotation, then removes it.
if obj.metadata.annotations == nil then
  obj.metadata.annotations = {}
end
obj.metadata.annotations["prognos.dev/retry"] = "true"
return obj
