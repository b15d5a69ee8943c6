// Package signal runs the room protocol over Socket.IO: join, leave and message from clients; joined,
// other_joined, full, leaved, bye and message back (docs/protocol.md).
package signal

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/zishang520/socket.io/servers/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"

	"duet/internal/room"
)

// Config tunes the signaling server.
type Config struct {
	// PingInterval and PingTimeout bound how long a vanished peer (network lost) stays in a room.
	PingInterval, PingTimeout time.Duration
	Limits                    Limits
	// AllowedOrigins lists the page origins (https://host[:port]) allowed to connect besides the
	// server's own; "*" allows any.
	AllowedOrigins []string
	// Hub makes the room table; nil is the in-memory one of a single node.
	Hub    NewHub
	Logger *slog.Logger
}

// DefaultConfig detects a lost peer within 20 s, where Socket.IO's defaults take 45 s.
func DefaultConfig() Config {
	return Config{PingInterval: 10 * time.Second, PingTimeout: 10 * time.Second, Limits: DefaultLimits(), Logger: slog.Default()}
}

// Server is the Socket.IO endpoint in front of the room hub.
type Server struct {
	io       *socket.Server
	http     http.Handler
	log      *slog.Logger
	guard    *guard
	hub      Hub
	counters counters

	mu      sync.RWMutex
	sockets map[room.Member]*socket.Socket // the sockets connected to this node
}

// New creates the signaling server; mount Handler at /socket.io/.
func New(cfg Config) (*Server, error) {
	opts := socket.DefaultServerOptions()
	opts.SetServeClient(false)
	opts.SetParser(rawParser{})
	opts.SetAllowEIO3(true) // socket.io-client 2.x, the classic demos' client
	opts.SetPingInterval(cfg.PingInterval)
	opts.SetPingTimeout(cfg.PingTimeout)
	opts.SetMaxHttpBufferSize(2 * MaxPayload) // room for framing; larger payloads get a clear refusal first
	s := &Server{
		log:     cfg.Logger,
		guard:   newGuard(cfg.Limits, cfg.AllowedOrigins),
		sockets: map[room.Member]*socket.Socket{},
	}
	newHub := cfg.Hub
	if newHub == nil {
		newHub = NewMemoryHub
	}
	hub, err := newHub(s.apply)
	if err != nil {
		return nil, err
	}
	s.hub = hub
	opts.SetAllowRequest(func(ctx *types.HttpContext) error {
		err := s.guard.admit(ctx.Request())
		if err != nil {
			s.counters.limited.Add(1)
			s.log.Debug("connection refused", "remote", ctx.Request().RemoteAddr, "reason", err)
		}
		return err
	})
	s.io = socket.NewServer(nil, opts)
	s.http = s.io.ServeHandler(nil)
	s.io.On("connection", func(args ...any) { s.connected(args[0].(*socket.Socket)) })
	return s, nil
}

// Handler serves the Socket.IO transports (polling and websocket).
func (s *Server) Handler() http.Handler { return s.http }

// Close disconnects every client, then lets go of the hub.
func (s *Server) Close() {
	s.io.Close(nil)
	if err := s.hub.Close(); err != nil {
		s.log.Warn("closing the room hub", "err", err)
	}
}

func (s *Server) connected(c *socket.Socket) {
	id := room.Member(c.Id())
	ip := clientIP(c.Request().Request())
	s.guard.opened(ip)
	s.mu.Lock()
	s.sockets[id] = c
	s.mu.Unlock()
	s.counters.connected.Add(1)
	c.Use(s.screen(c, ip))
	c.On("join", func(args ...any) { s.join(c, args) })
	c.On("leave", func(args ...any) { s.leave(c, args) })
	c.On("message", func(args ...any) { s.message(c, args) })
	c.On("disconnect", func(...any) {
		s.guard.closed(ip)
		s.hub.Disconnect(id)
		s.mu.Lock()
		delete(s.sockets, id)
		s.mu.Unlock()
		s.counters.connected.Add(-1)
	})
}

// screen drops events over the IP's rate, telling the client at most once a second so that a flood
// does not turn into a flood of refusals, and refuses unknown events.
func (s *Server) screen(c *socket.Socket, ip string) socket.SocketMiddleware {
	var warned time.Time // only touched from c's own event queue
	return func(event []any, next func(error)) {
		name, _ := event[0].(string)
		if !s.guard.event(ip) {
			s.counters.limited.Add(1)
			if now := time.Now(); now.Sub(warned) >= time.Second {
				warned = now
				s.refused(c, refuse(name, "rate_limited", "too many events from your address; this one and the next ones are dropped for a while"))
			}
			next(errRateLimited)
			return
		}
		if name != "join" && name != "leave" && name != "message" {
			s.refused(c, refuse(name, "unknown_event", "duet understands join, leave and message"))
			next(errUnknownEvent)
			return
		}
		next(nil)
	}
}

func (s *Server) join(c *socket.Socket, args []any) {
	name, r := roomArg("join", args)
	if r == nil {
		switch err := s.hub.Join(name, room.Member(c.Id()), ""); {
		case errors.Is(err, room.ErrInOtherRoom):
			r = refuse("join", "in_other_room", "leave your current room before joining %q", name)
		case errors.Is(err, room.ErrAlreadyJoined):
			r = refuse("join", "already_joined", "you are already in room %q", name)
		case err != nil:
			r = unavailable("join", err)
		}
	}
	if r != nil {
		s.refused(c, r)
	}
}

func (s *Server) leave(c *socket.Socket, args []any) {
	name, r := roomArg("leave", args)
	if r == nil {
		switch err := s.hub.Leave(name, room.Member(c.Id())); {
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

func (s *Server) message(c *socket.Socket, args []any) {
	name, r := roomArg("message", args)
	if r == nil {
		var data json.RawMessage
		if data, r = payloadArg("message", args); r == nil {
			switch err := s.hub.Relay(name, room.Member(c.Id()), data); {
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
func (s *Server) apply(o Outcome) {
	name, member := o.Room, string(o.Member)
	switch o.Kind {
	case Joined:
		if s.emit(o.Member, "joined", name, member) {
			s.counters.joins.Add(1)
		}
		if o.Peer != "" {
			s.emit(o.Peer, "other_joined", name, member)
			s.emit(o.Peer, "otherjoin", name, member) // the name classic demo clients listen for
		}
	case Full:
		if s.emit(o.Member, "full", name, member) {
			s.counters.fulls.Add(1)
		}
	case Left, Gone:
		if o.Kind == Left {
			s.emit(o.Member, "leaved", name, member)
		}
		if o.Peer != "" && s.emit(o.Peer, "bye", name, member) {
			s.counters.byes.Add(1)
		}
	case Relayed:
		if s.emit(o.Peer, "message", name, o.Data) {
			s.counters.relayed.Add(1)
		}
	case Evicted:
		// Closing the transport, not a Socket.IO disconnect, makes the page reconnect and join again.
		s.mu.RLock()
		c := s.sockets[o.Member]
		s.mu.RUnlock()
		if c != nil {
			s.log.Warn("a member lost its seat in the shared room store; closing its connection so it joins again", "room", name, "socket", member)
			c.Conn().Close(false)
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
	c.Emit(event, args...)
	return true
}

func (s *Server) refused(c *socket.Socket, r *refusal) {
	s.counters.refused.Add(1)
	s.log.Debug("refused", "socket", c.Id(), "event", r.Event, "code", r.Code)
	body, _ := json.Marshal(r)
	c.Emit("error", json.RawMessage(body))
}
