// Package signal runs the room protocol over Socket.IO: join, leave and message from clients; joined,
// other_joined, full, leaved, bye and message back (docs/protocol.md).
package signal

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"duet/internal/ipkey"
	"duet/internal/room"
	"duet/internal/sio"
	"duet/internal/webhook"
)

// Config tunes the signaling server.
type Config struct {
	// PingInterval and PingTimeout bound how long a vanished peer (network lost) stays in a room.
	PingInterval, PingTimeout time.Duration
	Limits                    Limits
	// MaxConns caps the Socket.IO connections open at once, from all addresses together.
	MaxConns int
	// AllowedOrigins lists the page origins (https://host[:port]) allowed to connect instead of the
	// server's own; "*" allows any.
	AllowedOrigins []string
	// Hub makes the room table; nil is the in-memory one of a single node (room.NewMemoryHub).
	Hub func() (room.Hub, error)
	// Access: room passwords, invite tokens and the guess limits.
	Access Access
	// Webhooks, when set, hears about rooms starting and finishing and people joining and leaving.
	Webhooks *webhook.Sender
	Logger   *slog.Logger
}

// DefaultMaxConns fits a 1–2 GB VM: at the 17–20 KiB a connected client costs (BENCHMARKS.md), about
// 400 MB.
const DefaultMaxConns = 20000

// DefaultConfig detects a lost peer within 8.9 s (ping interval, pong timeout and twice the heartbeat's
// tick of PingTimeout/20), so its partner gets bye within 10 s; Socket.IO's defaults take 45 s. The
// page, told a pong timeout of 2 s, gives up on a dead socket about 2 s before the server does and
// re-joins in time to take its seat back.
func DefaultConfig() Config {
	return Config{PingInterval: 4500 * time.Millisecond, PingTimeout: 4 * time.Second, Limits: DefaultLimits(),
		MaxConns: DefaultMaxConns, Access: DefaultAccess(), Logger: slog.Default()}
}

var errConfig = errors.New("signal: the connection limits (--conn-rate, --event-rate, --max-conn-per-ip, --max-conns) must be positive")

// Validate checks the settings; internal/config calls it too, so a bad one stops duet at start-up.
func (c Config) Validate() error {
	if c.Limits.ConnRate <= 0 || c.Limits.EventRate <= 0 || c.Limits.MaxConnPerIP < 1 || c.MaxConns < 1 {
		return errConfig
	}
	return c.Access.validate()
}

// Server is the Socket.IO endpoint in front of the room hub.
type Server struct {
	io       *sio.Server
	log      *slog.Logger
	guard    *guard
	gate     *gate
	webhooks *webhook.Sender
	hub      room.Hub
	received chan struct{} // closed when the hub's incoming outcomes have all been applied
	counters counters
	maxConns int64
	open     atomic.Int64 // connections admitted and not yet ended

	mu      sync.RWMutex
	sockets map[room.Member]*member // the sockets connected to this node
}

// member is a connected socket with what the server keeps about it.
type member struct {
	c      *sio.Socket
	ip     netip.Prefix
	warned time.Time // last rate_limited refusal; only touched from c's own event dispatch
	key    string    // the resume key of its latest join, handed out with joined; under Server.mu
}

// New creates the signaling server; mount Handler at /socket.io/.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{
		log:      cfg.Logger,
		guard:    newGuard(cfg.Limits, cfg.AllowedOrigins),
		gate:     newGate(cfg.Access),
		webhooks: cfg.Webhooks,
		maxConns: int64(cfg.MaxConns),
		sockets:  map[room.Member]*member{},
		received: make(chan struct{}),
	}
	newHub := cfg.Hub
	if newHub == nil {
		newHub = room.NewMemoryHub
	}
	hub, err := newHub()
	if err != nil {
		return nil, err
	}
	s.hub = hub
	s.io, err = sio.New(sio.Config{PingInterval: cfg.PingInterval, PingTimeout: cfg.PingTimeout, Logger: cfg.Logger}, s)
	if err != nil {
		_ = hub.Close()
		return nil, err
	}
	go s.receive()
	return s, nil
}

// receive applies the outcomes that reach this node from a shared room store, until the hub closes.
func (s *Server) receive() {
	defer close(s.received)
	for o := range s.hub.Incoming() {
		s.apply(o)
	}
}

// deliver applies the outcomes a hub call handed back, then lets the room's next change go.
func (s *Server) deliver(d room.Delivery) {
	for _, o := range d.Outcomes {
		s.apply(o)
	}
	d.Done()
}

// Handler serves the Socket.IO transports (polling and websocket).
func (s *Server) Handler() http.Handler { return s.io }

// Close disconnects every client, then lets go of the hub.
func (s *Server) Close() {
	s.io.Close()
	if err := s.hub.Close(); err != nil {
		s.log.Warn("closing the room hub", "err", err)
	}
	<-s.received
}

// Admit checks a new connection against the origin policy and the limits, and counts it until it ends.
func (s *Server) Admit(r *http.Request) (func(), error) {
	err := s.guard.admit(r)
	if err == nil && s.open.Add(1) > s.maxConns {
		s.open.Add(-1)
		err = errServerFull
	}
	if err != nil {
		s.counters.limited.Add(1)
		s.log.Debug("connection refused", "remote", r.RemoteAddr, "reason", err)
		return nil, err
	}
	ip := clientIP(r)
	s.guard.opened(ip)
	return func() {
		s.guard.closed(ip)
		s.open.Add(-1)
	}, nil
}

// Connect registers a socket that joined the main namespace.
func (s *Server) Connect(c *sio.Socket) {
	s.mu.Lock()
	s.sockets[room.Member(c.ID())] = &member{c: c, ip: ipkey.OfHostPort(c.RemoteAddr())}
	s.mu.Unlock()
	s.counters.connected.Add(1)
}

// Disconnect takes a socket out of its room; it is the last call about c.
func (s *Server) Disconnect(c *sio.Socket, _ error) {
	id := room.Member(c.ID())
	s.deliver(s.hub.Disconnect(id))
	s.mu.Lock()
	delete(s.sockets, id)
	s.mu.Unlock()
	s.counters.connected.Add(-1)
}

// Event drops events over the IP's rate, telling the client at most once a second so that a flood
// does not turn into a flood of refusals, refuses unknown events and runs the others.
func (s *Server) Event(c *sio.Socket, name string, args []json.RawMessage) {
	s.mu.RLock()
	m := s.sockets[room.Member(c.ID())]
	s.mu.RUnlock()
	if m == nil {
		return
	}
	if !s.guard.event(m.ip) {
		s.counters.limited.Add(1)
		if now := time.Now(); now.Sub(m.warned) >= time.Second {
			m.warned = now
			s.refused(c, refuse(name, "rate_limited", "too many events from your address; this one and the next ones are dropped for a while"))
		}
		return
	}
	switch name {
	case "join":
		s.join(c, m, args)
	case "leave":
		s.leave(c, args)
	case "message":
		s.message(c, args)
	default:
		s.refused(c, refuse(name, "unknown_event", "duet understands join, leave and message"))
	}
}

func (s *Server) join(c *sio.Socket, m *member, args []json.RawMessage) {
	name, r := roomArg("join", args)
	var opts JoinOptions
	if r == nil {
		opts, r = joinOptions(args)
	}
	if r == nil {
		r = s.gate.invited(name, opts.Token)
	}
	if r == nil {
		r = s.enter(room.Member(c.ID()), m.ip, name, opts)
	}
	if r != nil {
		s.refused(c, r)
	}
}

// enter takes back the seat held under opts.Resume, if one is; else it checks opts.Password against
// the room's lock (or makes the lock of an empty room) and joins. The check is slow and runs outside
// the hub, so the hub joins only under the lock that was checked; when the room changed hands
// meanwhile, it starts over. A resume wants no password: its key proves the seat was let in.
func (s *Server) enter(id room.Member, ip netip.Prefix, name string, opts JoinOptions) *refusal {
	key := s.newKey(id, opts.given)
	if opts.Resume != "" {
		// ErrNoSeat: the old socket is gone (or the key is wrong), an ordinary join follows
		d, err := s.hub.Resume(name, opts.Resume, id, key)
		s.deliver(d)
		if !errors.Is(err, room.ErrNoSeat) {
			return joinRefusal(name, err)
		}
	}
	for range 3 {
		lock, n, err := s.hub.Lock(name)
		if err != nil {
			return unavailable("join", err)
		}
		var r *refusal
		switch {
		case n == 0 && opts.Password != "":
			lock, r = s.gate.hash(ip, opts.Password)
		case n == 0:
			lock = ""
		case lock != "":
			r = s.gate.check(ip, name, lock, opts.Password)
		}
		if r != nil {
			return r
		}
		d, err := s.hub.Join(name, id, lock, key)
		s.deliver(d)
		if !errors.Is(err, room.ErrLockChanged) {
			return joinRefusal(name, err)
		}
	}
	return refuse("join", "rate_limited", "room %q keeps changing hands; try again", name)
}

// joinRefusal is what a join or resume the hub did not take is told; nil when it took it.
func joinRefusal(name string, err error) *refusal {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, room.ErrInOtherRoom):
		return refuse("join", "in_other_room", "leave your current room before joining %q", name)
	case errors.Is(err, room.ErrAlreadyJoined):
		return refuse("join", "already_joined", "you are already in room %q", name)
	}
	return unavailable("join", err)
}

// newKey draws the resume key of m's next seat, kept for the joined event when m asked for one
// (classic clients, which never do, get joined with its two arguments only).
func (s *Server) newKey(m room.Member, asked bool) string {
	key := string(m) + "." + rand.Text()
	s.mu.Lock()
	if c := s.sockets[m]; c != nil {
		c.key = ""
		if asked {
			c.key = key
		}
	}
	s.mu.Unlock()
	return key
}

// seat is joined's third argument: the key to take the seat back with from another socket, and
// whether this join did so. Clients that know nothing of it ignore it.
type seat struct {
	Resume  string `json:"resume"`
	Resumed bool   `json:"resumed,omitempty"`
}

// joined sends m its joined event: with its seat when m asked for one with its join.
func (s *Server) joined(m room.Member, name string, resumed bool) bool {
	s.mu.RLock()
	c := s.sockets[m]
	key := ""
	if c != nil {
		key = c.key
	}
	s.mu.RUnlock()
	if c == nil {
		return false
	}
	if key == "" {
		c.c.Emit("joined", name, string(m))
		return true
	}
	b, _ := json.Marshal(seat{Resume: key, Resumed: resumed})
	c.c.Emit("joined", name, string(m), json.RawMessage(b))
	return true
}

func (s *Server) leave(c *sio.Socket, args []json.RawMessage) {
	name, r := roomArg("leave", args)
	if r == nil {
		d, err := s.hub.Leave(name, room.Member(c.ID()))
		s.deliver(d)
		switch {
		case errors.Is(err, room.ErrNotInRoom):
			r = refuse("leave", "not_in_room", "you are not in room %q", name)
		case err != nil:
			r = unavailable("leave", err)
		}
	}
	if r != nil {
		s.refused(c, r)
	}
}

func (s *Server) message(c *sio.Socket, args []json.RawMessage) {
	name, r := roomArg("message", args)
	if r == nil {
		var data json.RawMessage
		if data, r = payloadArg("message", args); r == nil {
			d, err := s.hub.Relay(name, room.Member(c.ID()), data)
			s.deliver(d)
			switch {
			case errors.Is(err, room.ErrNotInRoom):
				r = refuse("message", "not_in_room", "you are not in room %q", name)
			case err != nil:
				r = unavailable("message", err)
			}
		}
	}
	if r != nil {
		s.refused(c, r)
	}
}

func unavailable(event string, err error) *refusal {
	return refuse(event, "unavailable", "the server cannot reach its room store right now (%v); try again shortly", err)
}

// apply turns a change of the room table into protocol events for the members on this node. Each
// change is counted once: on the node of the member the event is delivered to.
func (s *Server) apply(o room.Outcome) {
	name, member := o.Room, string(o.Member)
	switch o.Kind {
	case room.Joined:
		s.report(o)
		if s.joined(o.Member, name, false) {
			s.counters.joins.Add(1)
		}
		if o.Peer != "" {
			s.emit(o.Peer, "other_joined", name, member)
			s.emit(o.Peer, "otherjoin", name, member) // the name classic demo clients listen for
		}
	case room.Full:
		if s.emit(o.Member, "full", name, member) {
			s.counters.fulls.Add(1)
		}
	case room.Left, room.Gone:
		s.report(o)
		if o.Kind == room.Left {
			s.emit(o.Member, "leaved", name, member)
		}
		if o.Peer != "" && s.emit(o.Peer, "bye", name, member) {
			s.counters.byes.Add(1)
		}
	case room.Relayed:
		if s.emit(o.Peer, "message", name, o.Data) {
			s.counters.relayed.Add(1)
		}
	case room.Resumed:
		// Only the page itself hears of it: for its peer the same person is still there.
		s.joined(o.Member, name, true)
	case room.Replaced:
		// The old socket of a page that came back on a new one: dead, or about to be.
		s.mu.RLock()
		m := s.sockets[o.Member]
		s.mu.RUnlock()
		if m != nil {
			m.c.Close()
		}
	case room.Evicted:
		// Closing the transport, not a Socket.IO disconnect, makes the page reconnect and join again.
		s.mu.RLock()
		m := s.sockets[o.Member]
		s.mu.RUnlock()
		if m != nil {
			s.log.Warn("a member lost its seat in the shared room store; closing its connection so it joins again", "room", name, "socket", member)
			m.c.Close()
		}
	}
}

// emit sends an event to m if m is connected to this node.
func (s *Server) emit(m room.Member, event string, args ...any) bool {
	s.mu.RLock()
	c := s.sockets[m]
	s.mu.RUnlock()
	if c == nil {
		return false
	}
	c.c.Emit(event, args...)
	return true
}

func (s *Server) refused(c *sio.Socket, r *refusal) {
	s.counters.refuse(r.Code)
	s.log.Debug("refused", "socket", c.ID(), "event", r.Event, "code", r.Code)
	body, _ := json.Marshal(r)
	c.Emit("error", json.RawMessage(body))
}
