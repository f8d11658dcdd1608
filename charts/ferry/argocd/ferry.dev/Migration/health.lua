-- Argo CD health of a ferry Migration (ferry.dev/v1alpha1), from the status the operator writes
-- (operator/migration/reconcile.ts). Only Lua's base library is used: Argo CD opens neither string
-- nor math for scripts given in argocd-cm, and runs them in gopher-lua (Lua 5.1).
local hs = { status = "Progressing", message = "" }

local function condition(status, kind)
  if status == nil or type(status.conditions) ~= "table" then
    return nil
  end
  for _, c in ipairs(status.conditions) do
    if type(c) == "table" and c.type == kind then
      return c
    end
  end
  return nil
end

-- A string or number field as text; nil when absent, empty or of another type.
local function text(value)
  if type(value) ~= "string" and type(value) ~= "number" then
    return nil
  end
  local s = tostring(value)
  if s == "" then
    return nil
  end
  return s
end

local object = obj
if type(object) ~= "table" then
  object = {}
end
local status = object.status
if type(status) ~= "table" then
  status = {}
end
local spec = object.spec
if type(spec) ~= "table" then
  spec = {}
end
local phase = text(status.phase) or "Pending"
local ready = condition(status, "Ready")
local readyMessage = ready and text(ready.message)

-- The terminal phases are final: the operator never acts on a spec change after them, so an
-- observedGeneration behind metadata.generation there does not mean more is coming.
if phase == "Completed" then
  hs.status = "Healthy"
  hs.message = readyMessage or "Completed"
  if text(status.downtime) then
    hs.message = hs.message .. "; downtime " .. text(status.downtime)
  end
  return hs
end

if phase == "Failed" then
  hs.status = "Degraded"
  local err = status.lastError
  local degraded = condition(status, "Degraded")
  local message = nil
  if type(err) == "table" then
    message = text(err.message)
  end
  message = message or (degraded and text(degraded.message)) or readyMessage or "Failed"
  if type(err) == "table" and text(err.phase) then
    message = text(err.phase) .. ": " .. message
  end
  if type(err) == "table" and text(err.table) then
    message = message .. " (table " .. text(err.table) .. ")"
  end
  hs.message = message
  return hs
end

if phase == "RolledBack" then
  -- A finished fallback the user asked for (spec.fallback: true): nothing is wrong.
  hs.status = "Healthy"
  hs.message = "RolledBack"
  if readyMessage then
    hs.message = hs.message .. ": " .. readyMessage
  end
  return hs
end

-- The operator stamps the generation it acted on in status.observedGeneration (on phase changes)
-- and in every condition it writes; a status older than the spec says nothing about the spec.
local metadata = object.metadata
if type(metadata) ~= "table" then
  metadata = {}
end
local generation = tonumber(metadata.generation)
local observed = tonumber(status.observedGeneration)
if type(status.conditions) == "table" then
  for _, c in ipairs(status.conditions) do
    local g = type(c) == "table" and tonumber(c.observedGeneration)
    if g and (observed == nil or g > observed) then
      observed = g
    end
  end
end
if generation and (observed == nil or observed < generation) then
  hs.message = "waiting for the operator to observe generation " .. tostring(generation)
  if observed then
    hs.message = hs.message .. " (status is from generation " .. tostring(observed) .. ")"
  end
  return hs
end

-- Degraded without Failed: a missing Secret, retried until it appears. The operator does not
-- reset the condition when the Secret turns up, so it counts only if the migration has not moved
-- to a new phase since it was set (timestamps are RFC 3339 in UTC: they compare as strings).
local degraded = condition(status, "Degraded")
if degraded and degraded.status == "True" then
  local since = text(degraded.lastTransitionTime)
  local currentStart = nil
  if type(status.phases) == "table" and type(status.phases[#status.phases]) == "table" then
    currentStart = text(status.phases[#status.phases].startedAt)
  end
  if currentStart == nil or (since and since >= currentStart) then
    hs.status = "Degraded"
    hs.message = (text(degraded.reason) or "Degraded") .. ": " .. (text(degraded.message) or "")
    return hs
  end
end

if phase == "RollingBack" then
  hs.message = "RollingBack"
  if readyMessage then
    hs.message = hs.message .. ": " .. readyMessage
  end
  return hs
end

-- DowntimeOptimized: the bulk copy is done and the replay keeps up; the downtime starts only when
-- the user sets spec.cutover.approved.
local cutover = condition(status, "CutoverReady")
local approved = type(spec.cutover) == "table" and spec.cutover.approved == true
local waiting = cutover and cutover.status == "True" and cutover.reason == "WaitingForCutoverApproval"
-- A failed cutover lowered the fence and went back to replaying: the application runs, but the
-- migration needs someone to fix the cause and approve again (false, then true).
if phase == "Execution" and cutover and cutover.reason == "CutoverFailed" then
  hs.status = "Degraded"
  hs.message = text(cutover.message) or "cutover failed"
  return hs
end
if phase == "Execution" and waiting and not approved then
  hs.status = "Suspended"
  hs.message = "cutover ready, waiting for approval (spec.cutover.approved: true)"
  if text(cutover.message) then
    hs.message = hs.message .. ": " .. text(cutover.message)
  end
  return hs
end

-- A system move's Export stage: the dump is written and the source fenced, until the user confirms
-- the import (spec.systemMove.importCompleted) or falls back.
if phase == "Exported" then
  hs.status = "Suspended"
  hs.message = "Exported: waiting for the import's confirmation (spec.systemMove.importCompleted)"
  return hs
end

local message = phase
if text(status.progressText) then
  message = message .. ": " .. text(status.progressText)
elseif type(status.progress) == "table" and tonumber(status.progress.percent) then
  message = message .. ": " .. tostring(status.progress.percent) .. "%"
end
if phase == "Execution" and cutover and text(cutover.message) then
  if cutover.reason == "CutoverApproved" or approved then
    message = message .. ": cutover approved: " .. text(cutover.message)
  else
    message = message .. ": replay catching up: " .. text(cutover.message)
  end
end
hs.message = message
return hs
