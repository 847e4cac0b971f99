-- Argo CD health of a prognos.dev MaintenanceModel, from status.phase and status.conditions.
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

local function describe(c)
  if c.message ~= nil and c.message ~= "" then
    return c.type .. " " .. c.reason .. ": " .. c.message
  end
  return c.type .. " " .. c.reason
end

-- "Canary of v4 at step 2/3, weight 50%", "Shadow of candidate v4".
local function rolloutText(r)
  local text = r.strategy .. " of "
  if r.source == "Candidate" then
    text = text .. "candidate "
  end
  text = text .. r.target.version
  if r.strategy == "Canary" then
    local steps = 0
    if obj.spec.rollout ~= nil and obj.spec.rollout.steps ~= nil then
      steps = #obj.spec.rollout.steps
    end
    if r.step < steps then
      text = text .. " at step " .. (r.step + 1) .. "/" .. steps .. ", weight " .. r.weight .. "%"
    else
      text = text .. " at weight " .. r.weight .. "%"
    end
  end
  if r.results ~= nil and r.results[1] ~= nil then
    text = text .. "; last analysis " .. r.results[1].verdict
    if r.results[1].message ~= nil then
      text = text .. ": " .. r.results[1].message
    end
  end
  return text
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

local phase = obj.status.phase
local rollout = obj.status.rollout
local rolledBack = obj.status.rolledBack
local ready = condition("Ready")
local progressing = condition("Progressing")
-- Whether what was rolled back is spec.model (what Git asks to serve), not a rollout.candidate.
local specRolledBack = rolledBack == nil or rolledBack.sha256 == obj.spec.model.sha256

if phase == "Degraded" then
  hs.status = "Degraded"
  if ready ~= nil and ready.status == "False" then
    hs.message = describe(ready)
  else
    hs.message = "No verified model serves"
  end
  return hs
end

if phase == "RollingBack" and specRolledBack then
  hs.status = "Degraded"
  hs.message = "Rolling back to the stable"
  if rolledBack ~= nil then
    hs.message = "Rolling back " .. rolledBack.version .. " (" .. rolledBack.reason .. "): " .. rolledBack.message
  elseif progressing ~= nil and progressing.message ~= nil then
    hs.message = hs.message .. ": " .. progressing.message
  end
  return hs
end

if phase == "RolledBack" and specRolledBack then
  hs.status = "Degraded"
  hs.message = "spec.model was rolled back"
  if rolledBack ~= nil then
    hs.message = rolledBack.version .. " was rolled back (" .. rolledBack.reason .. "): " .. rolledBack.message
  end
  if obj.status.stable ~= nil then
    hs.message = hs.message .. "; " .. obj.status.stable.version .. " serves"
  end
  hs.message = hs.message .. ". Change spec.model or set prognos.dev/retry"
  return hs
end

-- spec names something the operator refuses: what Git asks for is not what serves.
for _, name in ipairs({ "FleetBound", "ArtifactVerified" }) do
  local c = condition(name)
  if c ~= nil and c.status == "False" then
    hs.status = "Degraded"
    hs.message = describe(c)
    return hs
  end
end
if progressing ~= nil and progressing.status == "False" and progressing.reason == "RolloutRefused" then
  hs.status = "Degraded"
  hs.message = describe(progressing)
  return hs
end

if phase == "Paused" then
  hs.status = "Suspended"
  if rollout ~= nil and rollout.paused == true then
    hs.message = rolloutText(rollout) .. "; paused until prognos.dev/resume"
  elseif obj.status.promotable ~= nil then
    hs.message = "Candidate " .. obj.status.promotable.version
      .. " passed: put status.promotable (version, uri, sha256) into spec.model to promote it"
  elseif progressing ~= nil and progressing.message ~= nil then
    hs.message = progressing.message
  else
    hs.message = "Rollout paused"
  end
  return hs
end

if phase == "Progressing" then
  hs.status = "Progressing"
  if rollout ~= nil then
    hs.message = rolloutText(rollout)
    if progressing ~= nil and progressing.message ~= nil
      and (progressing.reason == "WaitingForCandidate" or progressing.reason == "Promoting") then
      hs.message = hs.message .. "; " .. progressing.message
    end
  elseif ready ~= nil and ready.message ~= nil then
    hs.message = "Rolling out: " .. ready.message
  else
    hs.message = "Rolling out"
  end
  return hs
end

local verified = condition("ArtifactVerified")
if verified ~= nil and verified.status == "Unknown" then
  hs.status = "Progressing"
  hs.message = describe(verified)
  return hs
end
local available = condition("Available")
if available ~= nil and available.status == "False" then
  hs.status = "Degraded"
  hs.message = describe(available)
  return hs
end

if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message
  -- A failed rollout.candidate leaves spec.model serving: healthy, but worth saying.
  if rolledBack ~= nil then
    hs.message = hs.message .. "; candidate " .. rolledBack.version .. " was rolled back (" .. rolledBack.reason .. ")"
  end
  return hs
end
if ready ~= nil and ready.status == "False" and ready.reason ~= "RolloutInProgress" then
  hs.status = "Degraded"
  hs.message = describe(ready)
  return hs
end

hs.status = "Progressing"
if ready ~= nil then
  hs.message = describe(ready)
else
  hs.message = "Waiting for the Ready condition"
end
return hs
