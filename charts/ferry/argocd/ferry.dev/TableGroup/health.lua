-- Argo CD health of a ferry TableGroup (ferry.dev/v1alpha1): the chunks one transfer Pod copies,
-- created and updated by the operator (operator/migration/reconcile.ts). Only Lua's base library is
-- used: Argo CD opens neither string nor math for scripts given in argocd-cm, and runs them in
-- gopher-lua (Lua 5.1).
local hs = { status = "Progressing", message = "" }

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

local name = "group"
if text(spec.group) then
  name = "group " .. text(spec.group)
end
if text(spec.migration) then
  name = name .. " of migration " .. text(spec.migration)
end

-- Chunks and rows committed so far, summed over the per-table progress.
local function copied()
  if type(status.tables) ~= "table" or #status.tables == 0 then
    return nil
  end
  local done, chunks, rows = 0, 0, 0
  for _, t in ipairs(status.tables) do
    if type(t) == "table" then
      done = done + (tonumber(t.chunksDone) or 0)
      chunks = chunks + (tonumber(t.chunks) or 0)
      rows = rows + (tonumber(t.rows) or 0)
    end
  end
  return tostring(done) .. "/" .. tostring(chunks) .. " chunks, " .. tostring(rows) .. " rows"
end

local phase = text(status.phase) or "Pending"
local attempts = tonumber(status.attempts)

if phase == "Succeeded" then
  hs.status = "Healthy"
  hs.message = name .. ": copied"
  if copied() then
    hs.message = hs.message .. ", " .. copied()
  end
  if attempts and attempts > 1 then
    hs.message = hs.message .. " (" .. tostring(attempts) .. " attempts)"
  end
  return hs
end

if phase == "Failed" then
  hs.status = "Degraded"
  hs.message = name .. ": " .. (text(status.message) or "failed")
  return hs
end

if phase == "Running" then
  local message = name .. ": "
  if text(status.pod) then
    message = message .. "pod " .. text(status.pod) .. " running"
  else
    message = message .. "running"
  end
  if attempts and attempts > 1 then
    message = message .. " (attempt " .. tostring(attempts) .. ")"
  end
  if copied() then
    message = message .. ", " .. copied()
  end
  -- A Running group carries a message only once an attempt failed and another was started.
  if text(status.message) then
    message = message .. "; last failure: " .. text(status.message)
  end
  hs.message = message
  return hs
end

-- No status yet or Pending: the group waits for a free transfer slot (spec.transfer.parallelism).
hs.message = name .. ": waiting for a transfer pod"
return hs
