local threads = 0
function setup(thread) threads = threads + 1; thread:set("tid", threads) end
counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
function request()
  counter = counter + 1
  local sid = string.format("CA%08x%024x", tid, counter)
  return wrk.format(nil, "/voice", nil, "CallSid=" .. sid ..
    "&AccountSid=AC00000000000000000000000000000000&From=%2B5548999990000" ..
    "&To=%2B554833334444&CallStatus=ringing&Direction=inbound")
end
