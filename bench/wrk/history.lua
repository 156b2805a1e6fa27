-- GET /api/v1/chat/messages/history/{friend}?limit=50, each request as
-- another user of the accounts file (its token, its friend), so that the
-- connections do not all read one conversation.
local common = dofile((os.getenv("WRK_LUA_DIR") or "bench/wrk") .. "/common.lua")

local limit = os.getenv("WRK_LIMIT") or "50"

common.get_as_each_account(function(a)
   return "/api/v1/chat/messages/history/" .. a.peer .. "?limit=" .. limit
end)
