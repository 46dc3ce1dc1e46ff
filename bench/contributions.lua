-- wrk script for bench/contributions.py.
--
--   wrk ... -s bench/contributions.lua URL -- MODE RUNTAG DATAFILE
--
-- MODE "contribution": each request is POST /api/v1/contributions {"member_id": <random>, "months": 1} with
-- a random agent's bearer token and an Idempotency-Key unique to the run, thread and request.
-- MODE "bare": each request is POST /bench/insert with an empty JSON body.
-- DATAFILE: first line "<first member id> <last member id>", then one agent token a line.
-- done() prints lines starting with "BENCH " that the Python side parses: totals, each HTTP status seen,
-- and up to 3 bodies of responses that were not 2xx (per thread).

local threads = {}

function setup(thread)
   thread:set("tid", #threads + 1)
   table.insert(threads, thread)
end

local mode, runtag
local tokens = {}
local member_lo, member_hi
local counter = 0
statuses = {}
samples = {}

function init(args)
   mode, runtag = args[1], args[2]
   local file = assert(io.open(args[3], "r"))
   local first = file:read("*l")
   member_lo, member_hi = first:match("^(%d+)%s+(%d+)")
   member_lo, member_hi = tonumber(member_lo), tonumber(member_hi)
   for line in file:lines() do
      if #line > 0 then table.insert(tokens, line) end
   end
   file:close()
   math.randomseed(os.time() * 1000 + tid * 7919)
end

function request()
   counter = counter + 1
   if mode == "bare" then
      return wrk.format("POST", "/bench/insert", {["Content-Type"] = "application/json"}, "{}")
   end
   local headers = {
      ["Content-Type"] = "application/json",
      ["Authorization"] = "Bearer " .. tokens[math.random(#tokens)],
      ["Idempotency-Key"] = string.format("bench-%s-t%d-%d-%d", runtag, tid, counter, math.random(1, 999999)),
   }
   local body = string.format('{"member_id": %d, "months": 1}', math.random(member_lo, member_hi))
   return wrk.format("POST", "/api/v1/contributions", headers, body)
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
   if (status < 200 or status > 299) and #samples < 3 then
      table.insert(samples, status .. " " .. string.gsub(string.sub(body or "", 1, 300), "[\r\n]", " "))
   end
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format("BENCH requests %d\n", summary.requests))
   io.write(string.format("BENCH duration_us %d\n", summary.duration))
   io.write(string.format("BENCH errors connect=%d read=%d write=%d status=%d timeout=%d\n",
      e.connect, e.read, e.write, e.status, e.timeout))
   io.write(string.format("BENCH latency_us p50=%d p90=%d p99=%d mean=%.1f max=%d\n",
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max))
   local total = {}
   for _, thread in ipairs(threads) do
      for status, count in pairs(thread:get("statuses")) do
         total[status] = (total[status] or 0) + count
      end
      for _, sample in ipairs(thread:get("samples")) do
         io.write("BENCH sample " .. sample .. "\n")
      end
   end
   for status, count in pairs(total) do
      io.write(string.format("BENCH status %d %d\n", status, count))
   end
end
