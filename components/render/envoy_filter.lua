-- API-key filter of the project's Envoy gateway (runs before RBAC and the router).
-- The tables ROUTE_ACCESS, ROUTE_TRANSLATION, VALID_KEYS and TRANSLATE are generated
-- from components/render/gateway.py and prepended to this file.

local function unauthorized(handle, message)
  handle:respond({[":status"] = "401", ["content-type"] = "text/plain"}, message)
end

local function query_apikey(path)
  local query = path and string.match(path, "%?(.*)$")
  if query == nil then
    return nil
  end
  for pair in string.gmatch(query, "[^&]+") do
    local key, value = string.match(pair, "^([^=]*)=(.*)$")
    if key == "apikey" and value ~= "" then
      return value
    end
  end
  return nil
end

local function with_query_apikey(path, value)
  local base, query = string.match(path, "^([^?]*)%?(.*)$")
  local parts = {}
  for pair in string.gmatch(query, "[^&]+") do
    if string.match(pair, "^apikey=") then
      pair = "apikey=" .. value
    end
    parts[#parts + 1] = pair
  end
  return base .. "?" .. table.concat(parts, "&")
end

local function bearer_token(authorization)
  if authorization == nil then
    return nil
  end
  return string.match(authorization, "^[Bb]earer%s+(.+)$")
end

-- A caller's own JWT (a user session) wins over the key: only opaque keys are replaced.
local function has_real_jwt(authorization)
  local token = bearer_token(authorization)
  return token ~= nil and string.sub(token, 1, 3) ~= "sb_"
end

-- Edge functions: the JWT goes into sb-api-key, Authorization stays as the caller sent it.
-- Unknown sb_ keys are refused; anything else is for the runtime to verify.
local function functions_request(handle, headers)
  headers:remove("sb-api-key")
  local apikey = headers:get("apikey")
  if apikey == "" then
    apikey = nil
  end
  local bearer = bearer_token(headers:get("authorization"))
  local bearer_opaque = bearer ~= nil and string.sub(bearer, 1, 3) == "sb_"
  if bearer_opaque and apikey ~= nil and apikey ~= bearer then
    unauthorized(handle, "Conflicting API keys")
    return
  end
  local key = apikey
  if key == nil and bearer_opaque then
    key = bearer
  end
  if key == nil or string.sub(key, 1, 3) ~= "sb_" then
    return
  end
  local internal = TRANSLATE[key]
  if internal == nil then
    unauthorized(handle, "Invalid API key")
    return
  end
  headers:replace("sb-api-key", internal)
end

function envoy_on_request(handle)
  local headers = handle:headers()
  local route = handle:streamInfo():routeName()
  local translation = ROUTE_TRANSLATION[route]
  if translation == "functions" then
    functions_request(handle, headers)
    return
  end

  local path = headers:get(":path")
  local apikey = headers:get("apikey")
  local from_query = false
  if apikey == nil or apikey == "" then
    apikey = query_apikey(path)
    from_query = apikey ~= nil
  end

  if ROUTE_ACCESS[route] ~= nil and (apikey == nil or VALID_KEYS[apikey] ~= true) then
    unauthorized(handle, "Unauthorized")
    return
  end
  if apikey == nil then
    return
  end

  -- Services and the RBAC filter only ever see JWTs, never the opaque keys.
  local internal = TRANSLATE[apikey] or apikey
  headers:replace("apikey", internal)
  if from_query and TRANSLATE[apikey] ~= nil then
    headers:replace(":path", with_query_apikey(path, internal))
  end

  if translation == "realtime-ws" then
    headers:replace("x-api-key", internal)
  elseif translation == "authorization" and not has_real_jwt(headers:get("authorization")) then
    headers:replace("authorization", "Bearer " .. internal)
  end
end
