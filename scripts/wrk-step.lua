-- A durable step per request: the first answer (the client code) of a call
-- greeted elsewhere, whose URL carries the protocol, so the service rebuilds
-- the greeted call, moves it and stores it (one durable write) before it
-- answers. Each wrk thread has its own CallSids.
local threads = 0
function setup(thread) threads = threads + 1; thread:set("tid", threads) end
counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
function request()
  counter = counter + 1
  local sid = string.format("CA%08x%024x", tid, counter)
  return wrk.format(nil, "/voice/answer?seq=1&protocol=2026120299000001", nil,
    "CallSid=" .. sid ..
    "&AccountSid=AC00000000000000000000000000000000&From=%2B5548999990000" ..
    "&To=%2B554833334444&CallStatus=in-progress&Direction=inbound" ..
    "&Digits=123&FinishedOnKey=%23")
end
