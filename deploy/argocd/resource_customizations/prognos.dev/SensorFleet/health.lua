-- Argo CD health of a prognos.dev SensorFleet, from status.conditions (StreamReady, Ready, Receiving).
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

local stream = condition("StreamReady")
if stream ~= nil and stream.status == "False" then
  hs.status = "Degraded"
  hs.message = "StreamReady " .. stream.reason .. ": " .. stream.message
  return hs
end

local ready = condition("Ready")
if ready == nil or ready.status ~= "True" then
  hs.status = "Progressing"
  hs.message = "Waiting for the streams"
  return hs
end

-- Receiving is informational: a fleet whose machines are quiet is still healthy.
hs.status = "Healthy"
hs.message = ready.message
local receiving = condition("Receiving")
if receiving ~= nil and receiving.status == "False" then
  hs.message = hs.message .. "; " .. receiving.message
elseif obj.status.machinesSeen ~= nil and obj.status.readingsPerSecond ~= nil then
  hs.message = hs.message .. "; " .. obj.status.machinesSeen .. " machines, "
    .. obj.status.readingsPerSecond .. " readings/s"
end
return hs
