-- Lifts a pause. The operator acts on the annotation, then removes it.
if obj.metadata.annotations == nil then
  obj.metadata.annotations = {}
end
obj.metadata.annotations["prognos.dev/resume"] = "true"
return obj
