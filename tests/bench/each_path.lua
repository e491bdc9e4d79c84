-- wrk script (run with -t1): requests every path from the file named after "--" once, in order,
-- then stops; the warm-up that leaves every guide in the app's cache.
local paths = {}
local sent, done = 0, 0

function init(args)
  for line in io.lines(args[1]) do
    paths[#paths + 1] = line
  end
end

function request()
  sent = sent + 1
  return wrk.format("GET", paths[(sent - 1) % #paths + 1])
end

function response()
  done = done + 1
  if done >= #paths then
    wrk.thread:stop()
  end
end
