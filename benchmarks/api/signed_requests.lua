-- wrk script: sends pre-signed POST /api/v1/orders requests, each once.
-- Usage: wrk ... -s signed_requests.lua URL -- FILE THREADS [PACE_MS]
-- FILE holds records "<length>\n<raw HTTP request>"; thread i sends records i, i+THREADS, ...
-- A signature is accepted once, so a request must never be sent twice: make FILE big enough.
-- With PACE_MS, each connection waits that long after a response before its next request.

local thread_count = 0

function setup(thread)
  thread:set("id", thread_count)
  thread_count = thread_count + 1
end

local requests = {}
local position = 0
local pace = nil

function init(args)
  local path, threads = args[1], tonumber(args[2])
  if args[3] then pace = tonumber(args[3]) end
  local file = assert(io.open(path, "rb"))
  local index = 0
  while true do
    local header = file:read("*l")
    if not header then break end
    local raw = file:read(tonumber(header))
    if index % threads == id then requests[#requests + 1] = raw end
    index = index + 1
  end
  file:close()
end

function request()
  position = position + 1
  if position > #requests then position = 1 end
  return requests[position]
end

if os.getenv("WRK_PACED") then
  function delay()
    return pace
  end
end
