"""The job queue's Lua scripts: each step of a job's life as one atomic call.

Redis runs a script without interleaving other commands, so two workers never take the
same job and a crash between two commands cannot lose one. Every script gets all the keys
it touches in KEYS (Redis Cluster needs that): the queue's lists and sets, and one hash per
job field (payload, attempts, lease, status, error) keyed by job id. The lease token counts
a job's reservations and only ever grows: only the holder of the latest reservation may ack,
nack or extend (attempts cannot serve, retry_dead resets them).
"""

ENQUEUE = """
if ARGV[2] ~= '' then
  local existing = redis.call('HGET', KEYS[4], ARGV[2])
  if existing then
    redis.call('HINCRBY', KEYS[5], 'duplicates', 1)
    return {existing, 0}
  end
end
if ARGV[5] ~= '' then
  local backlog = redis.call('LLEN', KEYS[2]) + redis.call('ZCARD', KEYS[3]) + redis.call('ZCARD', KEYS[9])
  if backlog >= tonumber(ARGV[5]) then
    redis.call('HINCRBY', KEYS[5], 'refused', 1)
    return {tostring(backlog), -1}
  end
end
local id = tostring(redis.call('INCR', KEYS[1]))
redis.call('HSET', KEYS[6], id, ARGV[1])
redis.call('HSET', KEYS[7], id, '0')
if tonumber(ARGV[4]) > tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[3], ARGV[4], id)
  redis.call('HSET', KEYS[8], id, 'delayed')
else
  redis.call('LPUSH', KEYS[2], id)
  redis.call('HSET', KEYS[8], id, 'ready')
end
if ARGV[2] ~= '' then
  redis.call('HSET', KEYS[4], ARGV[2], id)
  redis.call('HSET', KEYS[10], id, ARGV[2])
end
redis.call('HINCRBY', KEYS[5], 'enqueued', 1)
return {id, 1}
"""

RESERVE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
for _, id in ipairs(due) do
  redis.call('ZREM', KEYS[2], id)
  redis.call('LPUSH', KEYS[1], id)
  redis.call('HSET', KEYS[4], id, 'ready')
end
while true do
  local id = redis.call('RPOP', KEYS[1])
  if not id then return false end
  local body = redis.call('HGET', KEYS[5], id)
  if body then
    local attempts = redis.call('HINCRBY', KEYS[6], id, 1)
    local token = redis.call('HINCRBY', KEYS[7], id, 1)
    redis.call('ZADD', KEYS[3], ARGV[2], id)
    redis.call('HSET', KEYS[4], id, 'leased')
    return {id, body, attempts, token}
  end
  redis.call('HSET', KEYS[4], id, 'dead')
  redis.call('HSET', KEYS[8], id, 'job record missing')
  redis.call('LPUSH', KEYS[9], id)
end
"""

HOLDS_LEASE = """
local function holds_lease(leased, tokens, id, token)
  if not redis.call('ZSCORE', leased, id) then return false end
  return redis.call('HGET', tokens, id) == token
end
"""

ACK = (
    HOLDS_LEASE
    + """
if not holds_lease(KEYS[1], KEYS[3], ARGV[1], ARGV[2]) then
  local done = redis.call('HGET', KEYS[4], ARGV[1]) == 'done'
  if done and redis.call('HGET', KEYS[3], ARGV[1]) == ARGV[2] then return 1 end
  return 0
end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[4], ARGV[1], 'done')
redis.call('ZADD', KEYS[5], ARGV[3], ARGV[1])
redis.call('HINCRBY', KEYS[2], 'acked', 1)
return 1
"""
)

NACK = (
    HOLDS_LEASE
    + """
if not holds_lease(KEYS[1], KEYS[5], ARGV[1], ARGV[2]) then
  if redis.call('HGET', KEYS[5], ARGV[1]) ~= ARGV[2] then return 0 end
  local status = redis.call('HGET', KEYS[6], ARGV[1])
  if status == 'retry' then return 1 end
  if status == 'dead' and redis.call('HGET', KEYS[7], ARGV[1]) == ARGV[3] then return 2 end
  return 0
end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[7], ARGV[1], ARGV[3])
if tonumber(ARGV[6]) >= tonumber(ARGV[5]) then
  redis.call('HSET', KEYS[6], ARGV[1], 'dead')
  redis.call('LPUSH', KEYS[3], ARGV[1])
  return 2
end
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
redis.call('HSET', KEYS[6], ARGV[1], 'retry')
redis.call('HINCRBY', KEYS[4], 'retried', 1)
return 1
"""
)

EXTEND = (
    HOLDS_LEASE
    + """
if not holds_lease(KEYS[1], KEYS[2], ARGV[1], ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1
"""
)

REAP = """
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local requeued, dead = {}, {}
for i = #expired, 1, -1 do
  local id = expired[i]
  redis.call('ZREM', KEYS[1], id)
  local attempts = tonumber(redis.call('HGET', KEYS[5], id))
  local reason = nil
  if not attempts then
    reason = 'job record missing'
  elseif attempts >= tonumber(ARGV[2]) then
    reason = 'lease expired on attempt ' .. attempts
  end
  if reason then
    redis.call('HSET', KEYS[6], id, 'dead')
    redis.call('HSET', KEYS[7], id, reason)
    redis.call('LPUSH', KEYS[3], id)
    table.insert(dead, id)
  else
    redis.call('RPUSH', KEYS[2], id)
    redis.call('HSET', KEYS[6], id, 'ready')
    redis.call('HINCRBY', KEYS[4], 'reaped', 1)
    table.insert(requeued, id)
  end
end
return {requeued, dead}
"""

RETRY_DEAD = """
if redis.call('LPOS', KEYS[1], ARGV[1]) == false then return 0 end
if ARGV[2] ~= '' then
  local backlog = redis.call('LLEN', KEYS[2]) + redis.call('ZCARD', KEYS[5]) + redis.call('ZCARD', KEYS[6])
  if backlog >= tonumber(ARGV[2]) then return -backlog - 1 end
end
redis.call('LREM', KEYS[1], 0, ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], 'ready')
redis.call('HSET', KEYS[4], ARGV[1], '0')
redis.call('LPUSH', KEYS[2], ARGV[1])
return 1
"""

PURGE = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do
  if redis.call('HGET', KEYS[5], id) == 'done' then
    for i = 2, 6 do redis.call('HDEL', KEYS[i], id) end
    local key = redis.call('HGET', KEYS[8], id)
    if key then
      if redis.call('HGET', KEYS[7], key) == id then redis.call('HDEL', KEYS[7], key) end
      redis.call('HDEL', KEYS[8], id)
    end
  end
  redis.call('ZREM', KEYS[1], id)
end
return #ids
"""
