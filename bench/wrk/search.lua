-- GET /api/v1/chat/messages/search/{friend}?keyword=WORD&limit=50 as the
-- users of the accounts file, WORD from WRK_QUERY.
local common = dofile((os.getenv("WRK_LUA_DIR") or "bench/wrk") .. "/common.lua")

local query = os.getenv("WRK_QUERY") or "zanzibar"

common.get_as_each_account(function(a)
   return "/api/v1/chat/messages/search/" .. a.peer .. "?keyword=" .. query ..
      "&limit=50"
end)
