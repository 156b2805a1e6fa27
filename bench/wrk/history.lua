-- GET /api/v1/chat/messages/history/{friend}?limit=50, each request as
-- another user of the accounts file (its token, its friend), so that the
-- connections do not all read one conversation.
local common = dofile((os.getenv("WRK_LUA_DIR") or "bench/wrk") .. "/common.lua")

setup = common.setup
done = common.done
local next_request

function init(args)
   local limit = os.getenv("WRK_LIMIT") or "50"
   local requests = {}
   for _, a in ipairs(common.load_accounts()) do
      requests[#requests + 1] = wrk.format("GET",
         "/api/v1/chat/messages/history/" .. a.peer .. "?limit=" .. limit,
         { ["Authorization"] = "Bearer " .. a.token })
   end
   assert(#requests > 0, "no accounts: set WRK_ACCOUNTS")
   next_request = common.round_robin(requests)
end

-- At the top level: wrk asks its main state whether the script defines
-- request(), and init() never runs there.
function request()
   return next_request()
end
