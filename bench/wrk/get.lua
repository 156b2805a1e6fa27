-- GET of the URL given to wrk, nothing else: /api/v1/health, or the static
-- file of the fcgi_overhead scenario. Only the JSON report is added.
local common = dofile((os.getenv("WRK_LUA_DIR") or "bench/wrk") .. "/common.lua")

done = common.done
