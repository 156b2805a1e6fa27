-- GET /api/v1/chat/messages/search/{friend}?keyword=WORD&limit=50 as the
-- users of the accounts file, WORD from WRK_QUERY.
local common = dofile((os.getenv("WRK_LUA_DIR") or "bench/wrk") .. "/common.lua")

setup = common.setup
done = common.done
local next_request

function init(args)
   local query = os.getenv("WRK_QUERY") or "zanzibar"
   local requests = {}
   for _, a in ipairs(common.load_accounts()) do
      requests[#requests + 1] = wrk.format("GET",
         "/api/v1/chat/messages/search/" .. a.peer .. "?keyword=" .. query ..
         "&limit=50", { ["Authorization"] = "Bearer " .. a.token })
   end
   assert(#requests > 0, "no accounts: set WRK_ACCOUNTS")
   next_request = common.round_robin(requests)
end

-- At the top level: wrk asks its main state whether the script defines
-- request(), and init() never runs there.
function request()
   return next_request()
end
