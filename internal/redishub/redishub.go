// Package redishub is the room hub of several duet nodes sharing one Redis: the two-person room table
// lives in Redis, every change is a Lua script that also publishes its outcome to the nodes concerned,
// and each node turns the outcomes it receives into protocol events for its own sockets.
// docs/scaling.md describes the deployment; scripts.go the keys, channels and framing.
package redishub

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"duet/internal/access"
	"duet/internal/room"
)

// Config says how to reach Redis and how quickly a dead node's members are removed.
type Config struct {
	// URL is a redis:// or rediss:// URL (redis://[user:pass@]host:6379/db); Options, when set, is
	// used instead.
	URL     string
	Options *redis.Options
	// NodeID names this process in Redis; empty draws a random one. Two live processes must never
	// share one.
	NodeID string
	// Prefix starts every key and channel; "duet:" when empty. Clusters sharing one Redis use
	// different prefixes (or databases).
	Prefix string
	// Heartbeat is how often the node refreshes its key and looks for dead nodes; TTL is how long
	// its key lives without a refresh (TTLBeats × Heartbeat when zero). A crashed node's peers get
	// bye within TTL + Heartbeat + OpTimeout (14 s by default).
	Heartbeat, TTL time.Duration
	// OpTimeout bounds each Redis operation, so a Redis that is down makes joins fail fast.
	OpTimeout time.Duration
	Logger    *slog.Logger
}

// Defaults of Config's zero fields.
const (
	DefaultPrefix    = "duet:"
	DefaultHeartbeat = 3 * time.Second
	TTLBeats         = 3 // heartbeats a node's key outlives its last refresh
	DefaultOpTimeout = 2 * time.Second
)

func (c Config) withDefaults() Config {
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = DefaultHeartbeat
	}
	if c.TTL <= 0 {
		c.TTL = TTLBeats * c.Heartbeat
	}
	if c.OpTimeout <= 0 {
		c.OpTimeout = DefaultOpTimeout
	}
	if c.NodeID == "" {
		c.NodeID = strings.ToLower(rand.Text()[:16])
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// reapBatch is how many members of a dead node one script call removes, so a janitor never holds
// Redis for long.
const reapBatch = 200

// registerBatch is how many local members one registration script puts back.
const registerBatch = 200

// Hub is one node's view of the shared room table. Create it with New, start it with Open, stop it
// with Close. Its calls hand back no outcomes: every outcome comes on Incoming, in the order Redis
// published it.
type Hub struct {
	cfg      Config
	rdb      *redis.Client
	log      *slog.Logger
	incoming chan room.Outcome // closed by Close, once the goroutines that send on it are done

	subscribed atomic.Bool  // the node's channel is subscribed: outcomes can reach it
	registered atomic.Bool  // the last heartbeat found (or made) the node's key
	lastErr    atomic.Value // of errBox: why the last maintenance round failed, or nil
	opened     atomic.Bool

	mu      sync.Mutex
	local   map[room.Member]string   // this node's members and their rooms, to register again
	pending map[room.Member]struct{} // disconnects Redis did not take yet, retried each heartbeat
	occ     [room.Capacity + 1]int   // the last occupancy read, served while Redis is down

	kick    chan struct{} // asks for a maintenance round now (resubscribed, or found unregistered)
	stopped <-chan struct{}
	cancel  context.CancelFunc
	ps      *redis.PubSub
	done    sync.WaitGroup
	closed  sync.Once
}

type errBox struct{ err error }

// DriverLogs sends go-redis's own log lines (one per failed dial while Redis is down) to l at debug
// level instead of the standard logger. It is process-wide, like go-redis's logger.
func DriverLogs(l *slog.Logger) { redis.SetLogger(driverLogger{l}) }

type driverLogger struct{ l *slog.Logger }

func (d driverLogger) Printf(ctx context.Context, format string, v ...any) {
	d.l.DebugContext(ctx, fmt.Sprintf(format, v...), "component", "go-redis")
}

// Validate checks the settings; internal/config calls it too, so a bad one stops duet at start-up.
func (c Config) Validate() error {
	_, err := c.withDefaults().options()
	return err
}

// options are the client's settings as given (c with defaults), before New's timeouts.
func (c Config) options() (*redis.Options, error) {
	if c.TTL <= c.Heartbeat {
		return nil, fmt.Errorf("redishub: TTL %v must be longer than the heartbeat %v", c.TTL, c.Heartbeat)
	}
	if c.Options != nil {
		o := *c.Options
		return &o, nil
	}
	if c.URL == "" {
		return nil, errors.New("redishub: no Redis URL")
	}
	opts, err := redis.ParseURL(c.URL)
	if err != nil {
		return nil, fmt.Errorf("redishub: --redis-url: %w", err)
	}
	return opts, nil
}

// New checks the settings and makes the Redis client; it does not connect yet.
func New(cfg Config) (*Hub, error) {
	cfg = cfg.withDefaults()
	opts, err := cfg.options()
	if err != nil {
		return nil, err
	}
	// Fail fast when Redis is away: a join must not hang for go-redis's default 5 s dial and retries.
	if opts.DialTimeout == 0 {
		opts.DialTimeout = cfg.OpTimeout / 2
	}
	if opts.ReadTimeout == 0 {
		opts.ReadTimeout = cfg.OpTimeout
	}
	if opts.WriteTimeout == 0 {
		opts.WriteTimeout = cfg.OpTimeout
	}
	if opts.PoolTimeout == 0 {
		opts.PoolTimeout = cfg.OpTimeout
	}
	if opts.MaxRetries == 0 {
		opts.MaxRetries = 1
	}
	if opts.DialerRetries == 0 {
		opts.DialerRetries = 1
	}
	opts.DisableIdentity = true // CLIENT SETINFO is unknown to Redis 6 and Valkey forks; skip it
	h := &Hub{
		cfg:      cfg,
		rdb:      redis.NewClient(opts),
		log:      cfg.Logger.With("node", cfg.NodeID),
		local:    map[room.Member]string{},
		pending:  map[room.Member]struct{}{},
		kick:     make(chan struct{}, 1),
		incoming: make(chan room.Outcome),
	}
	h.lastErr.Store(errBox{errors.New("not started")})
	return h, nil
}

// Open subscribes to this node's channel, registers the node and starts its heartbeat and janitor.
// A Redis that cannot be reached does not stop it: the hub answers room.ErrUnavailable until Redis
// is back, and Healthy says why.
func (h *Hub) Open() (room.Hub, error) {
	if !h.opened.CompareAndSwap(false, true) {
		return nil, errors.New("redishub: hub already opened")
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.stopped = cancel, ctx.Done()
	h.ps = h.rdb.Subscribe(ctx) // no channel yet: subscribing below waits for the confirmation
	sub, subCancel := context.WithTimeout(ctx, h.cfg.OpTimeout)
	err := h.ps.Subscribe(sub, h.channel())
	if err == nil {
		// The confirmation comes first on the connection; after it, no outcome for us can be lost.
		var msg any
		if msg, err = h.ps.ReceiveTimeout(sub, h.cfg.OpTimeout); err == nil {
			if s, ok := msg.(*redis.Subscription); ok && s.Count > 0 {
				h.subscribed.Store(true)
			}
		}
	}
	subCancel()
	if err != nil {
		h.log.Warn("redis unreachable at start; rooms are unavailable until it answers", "err", err)
	}
	h.maintain(ctx) // first heartbeat now, so a reachable Redis serves joins at once
	h.done.Add(2)
	go h.receive(ctx)
	go h.tick(ctx)
	return h, nil
}

func (h *Hub) channel() string { return h.cfg.Prefix + "node:" + h.cfg.NodeID }

// Healthy is nil when the node is registered in Redis and subscribed to its channel, else the reason.
func (h *Hub) Healthy() error {
	if !h.opened.Load() {
		return errors.New("redis hub not started")
	}
	if b := h.lastErr.Load().(errBox); b.err != nil {
		return b.err
	}
	if !h.subscribed.Load() {
		return errors.New("not subscribed to this node's redis channel")
	}
	if !h.registered.Load() {
		return errors.New("node not registered in redis")
	}
	return nil
}

func unavailable(err error) error { return fmt.Errorf("%w: %v", room.ErrUnavailable, err) }

// Incoming carries the outcomes published to this node, in order.
func (h *Hub) Incoming() <-chan room.Outcome { return h.incoming }

// send hands o to the reader of Incoming, unless the hub is closing.
func (h *Hub) send(o room.Outcome) {
	select {
	case h.incoming <- o:
	case <-h.stopped:
	}
}

var errNotSubscribed = errors.New("this node is not subscribed to its redis channel")

// run executes one room script with the operation timeout; every failure is ErrUnavailable.
func (h *Hub) run(s *redis.Script, args ...any) (any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), h.cfg.OpTimeout)
	defer cancel()
	res, err := s.Run(ctx, h.rdb, nil, append([]any{h.cfg.Prefix}, args...)...).Result()
	if err != nil {
		return nil, unavailable(err)
	}
	return res, nil
}

func (h *Hub) Lock(name string) (access.Hash, int, error) {
	res, err := h.run(lockScript, name)
	if err != nil {
		return "", 0, err
	}
	if v, ok := res.([]any); ok && len(v) == 2 {
		lock, ok1 := v[0].(string)
		n, ok2 := v[1].(int64)
		if ok1 && ok2 {
			return access.Hash(lock), int(n), nil
		}
	}
	return "", 0, unavailable(fmt.Errorf("lock script answered %v", res))
}

func (h *Hub) Join(name string, m room.Member, lock access.Hash, key string) (room.Delivery, error) {
	if !h.subscribed.Load() {
		return room.Delivery{}, unavailable(errNotSubscribed)
	}
	res, err := h.run(joinScript, name, string(m), h.cfg.NodeID, room.Capacity, string(lock), key)
	if err != nil {
		return room.Delivery{}, err
	}
	return room.Delivery{}, h.seated(name, m, res, "join")
}

func (h *Hub) Resume(name, key string, m room.Member, newKey string) (room.Delivery, error) {
	if !h.subscribed.Load() {
		return room.Delivery{}, unavailable(errNotSubscribed)
	}
	old, ok := room.KeyOwner(key)
	if !ok {
		return room.Delivery{}, room.ErrNoSeat
	}
	res, err := h.run(resumeScript, name, string(old), key, string(m), h.cfg.NodeID, newKey)
	if err != nil {
		return room.Delivery{}, err
	}
	return room.Delivery{}, h.seated(name, m, res, "resume")
}

// seated reads the answer of the join and resume scripts, remembering m's seat when it got one.
func (h *Hub) seated(name string, m room.Member, res any, script string) error {
	switch res {
	case "joined", "resumed":
		h.mu.Lock()
		h.local[m] = name
		h.mu.Unlock()
		return nil
	case "full":
		return nil
	case "changed":
		return room.ErrLockChanged
	case "no_seat":
		return room.ErrNoSeat
	case "already":
		return room.ErrAlreadyJoined
	case "other":
		return room.ErrInOtherRoom
	case "unregistered":
		h.registered.Store(false)
		h.wake()
		return unavailable(errors.New("this node is not registered in redis yet"))
	}
	return unavailable(fmt.Errorf("%s script answered %v", script, res))
}

func (h *Hub) Leave(name string, m room.Member) (room.Delivery, error) {
	if !h.subscribed.Load() {
		return room.Delivery{}, unavailable(errNotSubscribed)
	}
	res, err := h.run(leaveScript, name, string(m))
	if err != nil {
		return room.Delivery{}, err
	}
	switch res {
	case "left":
		h.mu.Lock()
		delete(h.local, m)
		h.mu.Unlock()
		return room.Delivery{}, nil
	case "not_in_room":
		return room.Delivery{}, room.ErrNotInRoom
	}
	return room.Delivery{}, unavailable(fmt.Errorf("leave script answered %v", res))
}

// Disconnect removes m from its room; when Redis cannot be reached it is retried every heartbeat, so
// the peer still gets its bye once Redis answers (if Redis kept its data).
func (h *Hub) Disconnect(m room.Member) room.Delivery {
	h.mu.Lock()
	delete(h.local, m)
	h.mu.Unlock()
	if _, err := h.run(goneScript, string(m)); err != nil {
		h.log.Warn("disconnect not recorded in redis; retrying", "member", m, "err", err)
		h.mu.Lock()
		h.pending[m] = struct{}{}
		h.mu.Unlock()
	}
	return room.Delivery{}
}

func (h *Hub) Relay(name string, from room.Member, data json.RawMessage) (room.Delivery, error) {
	res, err := h.run(relayScript, name, string(from), string(data))
	if err != nil {
		return room.Delivery{}, err
	}
	switch res {
	case "relayed", "alone":
		return room.Delivery{}, nil
	case "not_in_room":
		return room.Delivery{}, room.ErrNotInRoom
	}
	return room.Delivery{}, unavailable(fmt.Errorf("relay script answered %v", res))
}

// Occupancy reads the cluster-wide counters the scripts keep (one HMGET); while Redis is down it
// returns the last value read.
func (h *Hub) Occupancy() [room.Capacity + 1]int {
	ctx, cancel := context.WithTimeout(context.Background(), h.cfg.OpTimeout)
	defer cancel()
	fields := make([]string, room.Capacity)
	for n := 1; n <= room.Capacity; n++ {
		fields[n-1] = strconv.Itoa(n)
	}
	vals, err := h.rdb.HMGet(ctx, h.cfg.Prefix+"occ", fields...).Result()
	h.mu.Lock()
	defer h.mu.Unlock()
	if err == nil {
		for i, v := range vals {
			s, _ := v.(string)
			n, _ := strconv.Atoi(s)
			h.occ[i+1] = max(n, 0)
		}
	}
	return h.occ
}

// Close stops the heartbeat, janitor and subscription, and takes this node's members out of their
// rooms (their peers on other nodes get bye). No goroutine of the hub outlives it.
func (h *Hub) Close() error {
	var err error
	h.closed.Do(func() {
		defer close(h.incoming)
		if !h.opened.Load() {
			err = h.rdb.Close()
			return
		}
		h.cancel()
		_ = h.ps.Close() // unblocks receive
		h.done.Wait()
		h.subscribed.Store(false)
		h.registered.Store(false)
		h.lastErr.Store(errBox{errors.New("closed")})
		// Members this process still knows, and the ones Redis has under this node.
		h.mu.Lock()
		ms := make([]room.Member, 0, len(h.local)+len(h.pending))
		for m := range h.local {
			ms = append(ms, m)
		}
		for m := range h.pending {
			ms = append(ms, m)
		}
		h.local, h.pending = map[room.Member]string{}, map[room.Member]struct{}{}
		h.mu.Unlock()
		for _, m := range ms {
			if _, e := h.run(goneScript, string(m)); e != nil {
				err = e
				break
			}
		}
		if err == nil {
			err = h.reap(h.cfg.NodeID, true)
		}
		if err != nil {
			h.log.Warn("could not take this node's members out of redis; the other nodes' janitors will", "err", err)
		}
		err = errors.Join(err, h.rdb.Close())
	})
	return err
}
