-- wrk script: HTTP/1.1 pipelining, DEPTH requests to a write (default 50).
-- bench/run.ts runs httpd under cachegrind with this and one connection, so
-- that the server handles many requests per turn of its event loop, as it
-- does under load:  wrk -t1 -c1 -d2s -s bench/pipeline.lua URL -- 50
local depth = 50

init = function(args)
  if args[1] then depth = tonumber(args[1]) end
  local r = {}
  for i = 1, depth do
    r[i] = wrk.format(nil, nil)
  end
  req = table.concat(r)
end

request = function()
  return req
end
