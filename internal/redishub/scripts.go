package redishub

import (
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"duet/internal/room"
)

// The room table lives in Redis under the key prefix P (default "duet:"):
//
//	P member:<m>   string  the room member m is in (one room per member)
//	P room:<name>  hash    member → node id of that member (at most two fields)
//	P meta:<name>  hash    "lock": the room's password hash ("" when open), "started": unix ms of
//	                       its first join; deleted with the room's last member
//	P members:<n>  set     the members connected to node n (the janitor's list when n dies)
//	P alive:<n>    string  node n's heartbeat, with a TTL refreshed every heartbeat
//	P nodes        set     every node that registered and was not reaped yet
//	P occ          hash    "1" and "2": how many rooms hold one and two members
//	P key:<m>      string  the resume key of m's seat (room.Hub.Resume), gone with the seat
//
// Every change is one Lua script: it checks, changes the table and PUBLISHes the outcome to the
// channel P node:<n> of each node concerned. Redis runs scripts one at a time and delivers each
// channel's messages in the order they were published, so every node sees the changes that concern
// it in the order they were made. Scripts touch keys they compute, so they need one Redis (or a
// primary with replicas / Sentinel), not Redis Cluster.
//
// An outcome is framed as kind (one digit, room.Kind) followed by room, member, peer, the member's
// node and the room's start (unix ms) as netstrings (<len>:<bytes>) and then the raw payload of a
// relay, byte for byte. The scripts name the kinds (send(JOINED, …)) with the numbers luaKinds takes
// from Go.

// luaKinds declares every room.Kind for Lua as Go numbers it ("local JOINED, FULL, … = 1, 2, …"), so
// that a reordered Go constant changes the scripts with it.
func luaKinds() string {
	var names, nums []string
	for _, k := range room.Kinds() {
		names = append(names, strings.ToUpper(k.String()))
		nums = append(nums, strconv.Itoa(int(k)))
	}
	return "local " + strings.Join(names, ", ") + " = " + strings.Join(nums, ", ") + "\n"
}

// published reports whether the scripts send outcomes of kind k: every kind framed as one digit
// but Evicted, which is this node's own finding.
func published(k room.Kind) bool {
	return k != room.Evicted && k <= 9 && slices.Contains(room.Kinds(), k)
}

// prelude is shared by the scripts: ARGV[1] is always the key prefix.
var prelude = luaKinds() + `
local P = ARGV[1]
local function ns(s) return #s .. ':' .. s end
-- send publishes one outcome to each distinct node in nodes (empty strings skipped); mnode is the
-- member's node, started the room's start.
local function send(kind, rname, m, peer, mnode, started, data, nodes)
  local f = kind .. ns(rname) .. ns(m) .. ns(peer) .. ns(mnode) .. ns(started or '') .. (data or '')
  local seen = {}
  for _, n in ipairs(nodes) do
    if n ~= '' and not seen[n] then
      seen[n] = true
      redis.call('PUBLISH', P .. 'node:' .. n, f)
    end
  end
end
-- occ moves one room from the count of rooms holding before members to after.
local function occ(before, after)
  if before > 0 then redis.call('HINCRBY', P .. 'occ', tostring(before), -1) end
  if after > 0 then redis.call('HINCRBY', P .. 'occ', tostring(after), 1) end
end
-- remove takes m out of its room; returns the room, m's node, the peer, the peer's node and the
-- room's start, or nil. The last one out deletes the room's lock.
local function remove(m)
  local mk = P .. 'member:' .. m
  local rname = redis.call('GET', mk)
  if not rname then return nil end
  local rk = P .. 'room:' .. rname
  local all = redis.call('HGETALL', rk)
  local mnode, peer, pnode = '', '', ''
  local found = false
  for i = 1, #all, 2 do
    if all[i] == m then found, mnode = true, all[i + 1] else peer, pnode = all[i], all[i + 1] end
  end
  local metak = P .. 'meta:' .. rname
  local started = redis.call('HGET', metak, 'started') or ''
  redis.call('HDEL', rk, m)
  redis.call('DEL', mk)
  redis.call('DEL', P .. 'key:' .. m)
  if mnode ~= '' then redis.call('SREM', P .. 'members:' .. mnode, m) end
  if found then occ(#all / 2, #all / 2 - 1) end
  if redis.call('EXISTS', rk) == 0 then redis.call('DEL', metak) end
  return rname, mnode, peer, pnode, started
end
-- now is Redis's clock in unix ms, so every node agrees on a room's start.
local function now()
  local t = redis.call('TIME')
  return t[1] .. string.format('%03d', math.floor(tonumber(t[2]) / 1000))
end
`

// Lock: ARGV prefix, room. Returns the room's lock ("" when open) and its member count.
var lockScript = redis.NewScript(prelude + `
local rname = ARGV[2]
return {redis.call('HGET', P .. 'meta:' .. rname, 'lock') or '', redis.call('HLEN', P .. 'room:' .. rname)}
`)

// Join: ARGV prefix, room, member, node, capacity, lock, resume key. Refuses while this node is not
// registered, so a member can never be added under a node the janitors already consider dead. A room
// with people in it takes the member only under its own lock ('changed' otherwise, before 'full', so
// a protected room tells a stranger nothing); an empty room takes lock as its own. The seat is kept
// with the resume key.
var joinScript = redis.NewScript(prelude + `
local rname, m, node, cap, lock = ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]), ARGV[6]
if redis.call('EXISTS', P .. 'alive:' .. node) == 0 then return 'unregistered' end
local mk = P .. 'member:' .. m
local cur = redis.call('GET', mk)
if cur then
  if cur == rname then return 'already' end
  return 'other'
end
local rk = P .. 'room:' .. rname
local metak = P .. 'meta:' .. rname
local all = redis.call('HGETALL', rk)
local n = #all / 2
if n > 0 and (redis.call('HGET', metak, 'lock') or '') ~= lock then return 'changed' end
if n >= cap then
  send(FULL, rname, m, '', node, '', nil, {node})
  return 'full'
end
local peer, pnode = '', ''
if n > 0 then peer, pnode = all[1], all[2] end
if n == 0 then redis.call('HSET', metak, 'lock', lock, 'started', now()) end
redis.call('HSET', rk, m, node)
redis.call('SET', mk, rname)
redis.call('SET', P .. 'key:' .. m, ARGV[7])
redis.call('SADD', P .. 'members:' .. node, m)
occ(n, n + 1)
send(JOINED, rname, m, peer, node, redis.call('HGET', metak, 'started'), nil, {node, pnode})
return 'joined'
`)

// Resume: ARGV prefix, room, old member (the key's owner), key, member, node, new key. Gives the
// old member's seat to member, publishing Replaced to the old member's node and Resumed to member's.
// The room's meta (lock, start) stays as it is: the room goes on.
var resumeScript = redis.NewScript(prelude + `
local rname, old, key, m, node, newkey = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
if redis.call('EXISTS', P .. 'alive:' .. node) == 0 then return 'unregistered' end
if redis.call('GET', P .. 'member:' .. old) ~= rname or redis.call('GET', P .. 'key:' .. old) ~= key then
  return 'no_seat'
end
local cur = redis.call('GET', P .. 'member:' .. m)
if cur then
  if cur == rname then return 'already' end
  return 'other'
end
local rk = P .. 'room:' .. rname
local all = redis.call('HGETALL', rk)
local onode, peer = '', ''
for i = 1, #all, 2 do
  if all[i] == old then onode = all[i + 1] else peer = all[i] end
end
redis.call('HDEL', rk, old)
redis.call('HSET', rk, m, node)
redis.call('DEL', P .. 'member:' .. old, P .. 'key:' .. old)
redis.call('SET', P .. 'member:' .. m, rname)
redis.call('SET', P .. 'key:' .. m, newkey)
if onode ~= '' then redis.call('SREM', P .. 'members:' .. onode, old) end
redis.call('SADD', P .. 'members:' .. node, m)
send(REPLACED, rname, old, '', onode, '', nil, {onode})
send(RESUMED, rname, m, peer, node, '', nil, {node})
return 'resumed'
`)

// Leave: ARGV prefix, room, member.
var leaveScript = redis.NewScript(prelude + `
local rname, m = ARGV[2], ARGV[3]
if redis.call('GET', P .. 'member:' .. m) ~= rname then return 'not_in_room' end
local r, mnode, peer, pnode, started = remove(m)
send(LEFT, r, m, peer, mnode, started, nil, {mnode, pnode})
return 'left'
`)

// Gone (a disconnect): ARGV prefix, member. Returns 0 when the member was in no room.
var goneScript = redis.NewScript(prelude + `
local m = ARGV[2]
local r, mnode, peer, pnode, started = remove(m)
if not r then return 0 end
send(GONE, r, m, peer, mnode, started, nil, {mnode, pnode})
return 1
`)

// Relay: ARGV prefix, room, member, data. Checks membership and publishes to the peer's node in one
// step, so a relay can never overtake the sender's bye.
var relayScript = redis.NewScript(prelude + `
local rname, m = ARGV[2], ARGV[3]
local rk = P .. 'room:' .. rname
if redis.call('HEXISTS', rk, m) == 0 then return 'not_in_room' end
local all = redis.call('HGETALL', rk)
for i = 1, #all, 2 do
  if all[i] ~= m then
    send(RELAYED, rname, m, all[i], '', '', ARGV[4], {all[i + 1]})
    return 'relayed'
  end
end
return 'alone'
`)

// Heartbeat: ARGV prefix, node, ttl (ms). Refreshes the node's key if it still exists (1); 0 means
// the node must register again (first start, Redis lost its data, or it was reaped as dead).
var heartbeatScript = redis.NewScript(prelude + `
local k = P .. 'alive:' .. ARGV[2]
if redis.call('EXISTS', k) == 0 then return 0 end
redis.call('PEXPIRE', k, ARGV[3])
redis.call('SADD', P .. 'nodes', ARGV[2])
return 1
`)

// Register: ARGV prefix, node, ttl (ms), capacity, last ("1" on the last batch), then pairs of
// member and room: the local members to put back, silently (their clients never saw them leave).
// A member whose room was filled meanwhile is returned as dropped. The last batch creates the node's
// key, which opens the node to new joins.
var registerScript = redis.NewScript(prelude + `
local node, ttl, cap, last = ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
local dropped = {}
for i = 6, #ARGV - 1, 2 do
  local m, rname = ARGV[i], ARGV[i + 1]
  local mk = P .. 'member:' .. m
  local rk = P .. 'room:' .. rname
  local cur = redis.call('GET', mk)
  if cur == rname then
    redis.call('HSET', rk, m, node)
    redis.call('SADD', P .. 'members:' .. node, m)
  elseif cur then
    table.insert(dropped, m)
  else
    local n = redis.call('HLEN', rk)
    if n < cap then
      -- Redis lost the room: it comes back open, started now.
      redis.call('HSETNX', P .. 'meta:' .. rname, 'started', now())
      redis.call('HSET', rk, m, node)
      redis.call('SET', mk, rname)
      redis.call('SADD', P .. 'members:' .. node, m)
      occ(n, n + 1)
    else
      table.insert(dropped, m)
    end
  end
end
if last == '1' then
  redis.call('SET', P .. 'alive:' .. node, '1', 'PX', ttl)
  redis.call('SADD', P .. 'nodes', node)
end
return dropped
`)

// Reap: ARGV prefix, node, batch, force. Removes up to batch members of a node whose key expired
// (or of this node when force is "1", on Close), publishing Gone to each peer's node; returns how many
// remain, or -1 when the node turned out to be alive. The node leaves the registry when none remain.
var reapScript = redis.NewScript(prelude + `
local node, batch, force = ARGV[2], tonumber(ARGV[3]), ARGV[4]
local ak = P .. 'alive:' .. node
if force == '1' then
  redis.call('DEL', ak)
elseif redis.call('EXISTS', ak) == 1 then
  return -1
end
local sk = P .. 'members:' .. node
local ms = redis.call('SRANDMEMBER', sk, batch)
for _, m in ipairs(ms) do
  local r, mnode, peer, pnode, started = remove(m)
  redis.call('SREM', sk, m)
  if r then
    if force == '1' then
      send(GONE, r, m, peer, mnode, started, nil, {mnode, pnode})
    else
      send(GONE, r, m, peer, mnode, started, nil, {pnode})
    end
  end
end
local left = redis.call('SCARD', sk)
if left == 0 then redis.call('SREM', P .. 'nodes', node) end
return left
`)
