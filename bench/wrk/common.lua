-- Shared by the wrk scripts of bench/run: the accounts file, a GET per
-- account, and the JSON report. Loaded with dofile() from the directory in WRK_LUA_DIR.
--
-- Environment:
--   WRK_ACCOUNTS  wsload's accounts file: "account-id token peer-id" a line
--   WRK_JSON      where done() writes the figures as one JSON object

local common = {}

-- The accounts of the file, as { id, token, peer } tables.
function common.load_accounts()
   local path = os.getenv("WRK_ACCOUNTS")
   local list = {}
   if path == nil then
      return list
   end
   for line in io.lines(path) do
      local id, token, peer = line:match("^(%S+) (%S+) (%S+)")
      if id ~= nil then
         list[#list + 1] = { id = id, token = token, peer = peer }
      end
   end
   return list
end

-- wrk calls setup() once per thread in the main state: number the threads
-- so that each one starts at another place in the list of accounts.
local next_thread = 0
function common.setup(thread)
   thread:set("thread_index", next_thread)
   next_thread = next_thread + 1
end

-- A request function that goes round the prepared requests, starting at
-- this thread's share so that the threads use different accounts.
function common.round_robin(requests)
   local n = #requests
   local i = ((thread_index or 0) * 7919) % math.max(n, 1)
   return function()
      i = i % n + 1
      return requests[i]
   end
end

-- Makes the script a GET per account of the accounts file, as that
-- account (its token), path(account) its path, the threads going round
-- the accounts: defines wrk's setup, init, request and done.
function common.get_as_each_account(path)
   local next_request

   setup = common.setup
   done = common.done

   function init(args)
      local requests = {}
      for _, a in ipairs(common.load_accounts()) do
         requests[#requests + 1] = wrk.format("GET", path(a),
            { ["Authorization"] = "Bearer " .. a.token })
      end
      assert(#requests > 0, "no accounts: set WRK_ACCOUNTS")
      next_request = common.round_robin(requests)
   end

   -- Defined when the script is loaded: wrk asks its main state whether
   -- the script defines request(), and init() never runs there.
   function request()
      return next_request()
   end
end

-- Writes the figures to WRK_JSON. Latencies are in milliseconds; wrk
-- measures them in microseconds from the moment a request is written.
function common.done(summary, latency, requests)
   local path = os.getenv("WRK_JSON")
   local seconds = summary.duration / 1e6
   local e = summary.errors
   local function ms(us) return us / 1000 end
   local out = string.format(
      '{"requests": %d, "duration_s": %.3f, "requests_per_s": %.1f, ' ..
      '"bytes": %d, "errors": {"connect": %d, "read": %d, "write": %d, ' ..
      '"status": %d, "timeout": %d}, "latency_ms": {"mean": %.3f, ' ..
      '"stdev": %.3f, "p50": %.3f, "p90": %.3f, "p99": %.3f, ' ..
      '"p999": %.3f, "max": %.3f}}\n',
      summary.requests, seconds, summary.requests / seconds,
      summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
      ms(latency.mean), ms(latency.stdev), ms(latency:percentile(50)),
      ms(latency:percentile(90)), ms(latency:percentile(99)),
      ms(latency:percentile(99.9)), ms(latency.max))
   if path ~= nil then
      local f = assert(io.open(path, "w"))
      f:write(out)
      f:close()
   else
      io.write(out)
   end
end

return common
