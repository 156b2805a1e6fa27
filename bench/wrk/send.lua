-- POST /api/v1/chat/messages/ as the users of the accounts file, each to
-- its friend. The content differs from request to request (a counter per
-- thread), as real messages do; requests are built as they go.
local common = dofile((os.getenv("WRK_LUA_DIR") or "bench/wrk") .. "/common.lua")

setup = common.setup
done = common.done

local accounts, count, i

function init(args)
   accounts = common.load_accounts()
   assert(#accounts > 0, "no accounts: set WRK_ACCOUNTS")
   count = 0
   i = ((thread_index or 0) * 7919) % #accounts
end

function request()
   i = i % #accounts + 1
   count = count + 1
   local a = accounts[i]
   return wrk.format("POST", "/api/v1/chat/messages/",
      { ["Authorization"] = "Bearer " .. a.token,
        ["Content-Type"] = "application/json" },
      '{"receiver_id": "' .. a.peer .. '", "content": "bench message ' ..
      (thread_index or 0) .. "-" .. count .. '"}')
end
