-- The rollout actions that apply to a MaintenanceModel now; kubectl prognos refuses by the same rules.
local actions = {}
local status = obj.status
if status == nil then
  status = {}
end
local phase = status.phase
local rollout = status.rollout
-- A Progressing phase without status.rollout is a plain version change (no spec.rollout): nothing to steer.
local running = phase == "Progressing" and rollout ~= nil
local paused = rollout ~= nil and rollout.paused == true
-- A canary past its last step holds 100% while the stable rolls to it: no step left to end or hold.
local inStep = false
if rollout ~= nil then
  local steps = 0
  if obj.spec.rollout ~= nil and obj.spec.rollout.steps ~= nil then
    steps = #obj.spec.rollout.steps
  end
  inStep = rollout.strategy ~= "Canary" or rollout.step < steps
end

actions["promote"] = { ["disabled"] = not (running and inStep) }
actions["promote-full"] = { ["disabled"] = not (running and inStep) }
actions["pause"] = { ["disabled"] = not (running and inStep) or paused }
-- Paused without status.rollout is a candidate awaiting promotion: nothing runs to abort.
actions["abort"] = { ["disabled"] = not (rollout ~= nil and (phase == "Progressing" or phase == "Paused")) }
actions["resume"] = { ["disabled"] = not paused }
actions["retry"] = { ["disabled"] = not (phase == "RolledBack" and status.rolledBack ~= nil) }
return actions
