-- Ends the current canary step now, as if its analysis had passed. The operator acts on the annotation, then removes it.
if obj.metadata.annotations == nil then
  obj.metadata.annotations = {}
end
obj.metadata.annotations["prognos.dev/promote"] = "true"
return obj
