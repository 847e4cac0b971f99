-- Argo CD health of a prognos.dev RetrainPolicy, from its Ready condition and status.
-- Argo CD runs argocd-cm scripts without Lua's string library, so this uses none.
local hs = {}

local function condition(name)
  if obj.status.conditions ~= nil then
    for _, c in ipairs(obj.status.conditions) do
      if c.type == name then
        return c
      end
    end
  end
  return nil
end

if obj.status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to report status"
  return hs
end

local generation = obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and (observed == nil or observed < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. generation
  return hs
end

local ready = condition("Ready")
if ready == nil or ready.status == "Unknown" then
  hs.status = "Progressing"
  hs.message = "Waiting for the Ready condition"
  return hs
end
if ready.status == "False" then
  hs.status = "Degraded"
  hs.message = "Ready " .. ready.reason .. ": " .. ready.message
  return hs
end

-- Retraining runs on its own schedule, not on a sync: a running Job is the policy working, so Healthy.
hs.status = "Healthy"
hs.message = ready.message
local job = obj.status.activeJob
if job ~= nil then
  hs.message = "Retraining (" .. job.trigger .. ") with Job " .. job.name
elseif obj.status.candidates ~= nil and obj.status.candidates[1] ~= nil then
  local c = obj.status.candidates[1]
  hs.message = hs.message .. "; latest candidate " .. c.version .. ": " .. c.verdict
end
return hs
