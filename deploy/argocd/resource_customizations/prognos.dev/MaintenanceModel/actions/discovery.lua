-- The rollout actions that apply to a MaintenanceModel now; kubectl prognos refuses by the same rules.
local actions = {}
local status = obj.status
if status == nil then
  status = {}
end
local phase = status.phase
-- A Progressing phase without status.rollout is a plain version change (no spec.rollout): nothing to steer.
local running = phase == "Progressing" and status.rollout ~= nil
local paused = status.rollout ~= nil and status.rollout.paused == true

actions["promote"] = { ["disabled"] = not running }
actions["promote-full"] = { ["disabled"] = not running }
actions["pause"] = { ["disabled"] = not running or paused }
actions["abort"] = { ["disabled"] = not (running or phase == "Paused") }
actions["resume"] = { ["disabled"] = not paused }
actions["retry"] = { ["disabled"] = not (phase == "RolledBack" and status.rolledBack ~= nil) }
return actions
