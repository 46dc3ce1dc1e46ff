-- wrk script for bench/webhooks.py.
--
--   wrk ... -s bench/webhooks.lua URL -- MODE BODYPREFIX
--
-- MODE "webhook": each request is POST /webhooks/midtrans with the next line of the file
-- BODYPREFIX-t<thread>.txt: one signed Midtrans notification a line, each with its own order_id and
-- transaction_id (wrk's Lua has no SHA-512, so Python signs them beforehand). A thread that reaches the end
-- of its file starts again from the top: those requests are redeliveries, which the endpoint answers
-- 200 {"duplicate": true}; they are counted ("wrapped", and "duplicates" from the answers).
-- MODE "bare": each request is POST /bench/insert with an empty JSON body (BODYPREFIX is not read).
-- done() prints lines starting with "BENCH " that bench/harness.py parses: totals, each HTTP status seen,
-- up to 3 bodies of responses that were not 2xx (per thread), and "BENCH count NAME N" counters: requests
-- sent (wrk itself counts only those answered before the run ended), redeliveries sent, duplicates answered.

local threads = {}

function setup(thread)
   thread:set("tid", #threads + 1)
   table.insert(threads, thread)
end

local mode
local bodies = {}
local index = 0
local headers = {["Content-Type"] = "application/json"}
statuses = {}
samples = {}
duplicates = 0
wrapped = 0
sent = 0

function init(args)
   mode = args[1]
   if mode == "webhook" then
      local file = assert(io.open(string.format("%s-t%d.txt", args[2], tid), "r"))
      for line in file:lines() do
         if #line > 0 then table.insert(bodies, line) end
      end
      file:close()
      assert(#bodies > 0, "no bodies")
   end
end

function request()
   sent = sent + 1
   if mode == "bare" then
      return wrk.format("POST", "/bench/insert", headers, "{}")
   end
   index = index + 1
   if index > #bodies then
      index = 1
   end
   if sent > #bodies then
      wrapped = wrapped + 1  -- a body this thread sent before: a redelivery
   end
   return wrk.format("POST", "/webhooks/midtrans", headers, bodies[index])
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
   if status >= 200 and status <= 299 then
      if body and string.find(body, '"duplicate":%s*true') then
         duplicates = duplicates + 1
      end
   elseif #samples < 3 then
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
   local dup, wrap, sent_ = 0, 0, 0
   for _, thread in ipairs(threads) do
      for status, count in pairs(thread:get("statuses")) do
         total[status] = (total[status] or 0) + count
      end
      for _, sample in ipairs(thread:get("samples")) do
         io.write("BENCH sample " .. sample .. "\n")
      end
      dup = dup + thread:get("duplicates")
      wrap = wrap + thread:get("wrapped")
      sent_ = sent_ + thread:get("sent")
   end
   for status, count in pairs(total) do
      io.write(string.format("BENCH status %d %d\n", status, count))
   end
   io.write(string.format("BENCH count duplicates %d\n", dup))
   io.write(string.format("BENCH count wrapped %d\n", wrap))
   io.write(string.format("BENCH count sent %d\n", sent_))
end
