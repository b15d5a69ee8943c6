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
	Logger         *slog.Logger
}

// DefaultConfig detects a lost peer within 20 s, where Socket.IO's defaults take 45 s.
func DefaultConfig() Config {
	return Config{PingInterval: 10 * time.Second, PingTimeout: 10 * time.Second, Limits: DefaultLimits(), Logger: slog.Default()}
}

// Server is the Socket.IO endpoint and the room table behind it.
type Server struct {
	io       *socket.Server
	http     http.Handler
	log      *slog.Logger
	guard    *guard
	counters counters

	// mu orders every room change with the events it causes, so a peer never sees them out of order.
	mu      sync.RWMutex
	rooms   *room.Rooms
	sockets map[room.Member]*socket.Socket
}

// New creates the signaling server; mount Handler at /socket.io/.
func New(cfg Config) *Server {
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
		rooms:   room.New(),
		sockets: map[room.Member]*socket.Socket{},
	}
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
	return s
}

// Handler serves the Socket.IO transports (polling and websocket).
func (s *Server) Handler() http.Handler { return s.http }

// Close disconnects every client.
func (s *Server) Close() { s.io.Close(nil) }

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
		s.disconnected(c)
	})
}

// screen drops events over the IP's rate (telling the client once per flood) and refuses unknown ones.
func (s *Server) screen(c *socket.Socket, ip string) socket.SocketMiddleware {
	flooding := false // only touched from c's own event queue
	return func(event []any, next func(error)) {
		name, _ := event[0].(string)
		if !s.guard.event(ip) {
			s.counters.limited.Add(1)
			if !flooding {
				s.refused(c, refuse(name, "rate_limited", "too many events from your address; this one and the next ones are dropped for a while"))
			}
			flooding = true
			next(errRateLimited)
			return
		}
		flooding = false
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
	if r != nil {
		s.refused(c, r)
		return
	}
	id := room.Member(c.Id())
	s.mu.Lock()
	defer s.mu.Unlock()
	peer, err := s.rooms.Join(name, id)
	switch {
	case errors.Is(err, room.ErrFull):
		s.counters.fulls.Add(1)
		c.Emit("full", name, string(id))
	case errors.Is(err, room.ErrInOtherRoom):
		s.refused(c, refuse("join", "in_other_room", "leave your current room before joining %q", name))
	case errors.Is(err, room.ErrAlreadyJoined):
		s.refused(c, refuse("join", "already_joined", "you are already in room %q", name))
	default:
		s.counters.joins.Add(1)
		c.Emit("joined", name, string(id))
		if p := s.sockets[peer]; p != nil {
			p.Emit("other_joined", name, string(id))
			p.Emit("otherjoin", name, string(id)) // the name classic demo clients listen for
		}
	}
}

func (s *Server) leave(c *socket.Socket, args []any) {
	name, r := roomArg("leave", args)
	if r != nil {
		s.refused(c, r)
		return
	}
	id := room.Member(c.Id())
	s.mu.Lock()
	defer s.mu.Unlock()
	peer, err := s.rooms.Leave(name, id)
	if err != nil {
		s.refused(c, refuse("leave", "not_in_room", "you are not in room %q", name))
		return
	}
	c.Emit("leaved", name, string(id))
	s.bye(name, peer, id)
}

func (s *Server) message(c *socket.Socket, args []any) {
	name, r := roomArg("message", args)
	if r == nil {
		var data json.RawMessage
		if data, r = payloadArg("message", args); r == nil {
			r = s.relay(c, name, data)
		}
	}
	if r != nil {
		s.refused(c, r)
	}
}

// relay sends data to the other member of room, under the read lock so that it cannot overtake a bye.
func (s *Server) relay(c *socket.Socket, name string, data json.RawMessage) *refusal {
	s.mu.RLock()
	defer s.mu.RUnlock()
	peer, err := s.rooms.Peer(name, room.Member(c.Id()))
	if err != nil {
		return refuse("message", "not_in_room", "you are not in room %q", name)
	}
	// Alone in the room: a candidate trickled after the peer left has nobody to reach, which is no error.
	if p := s.sockets[peer]; p != nil {
		p.Emit("message", name, data)
		s.counters.relayed.Add(1)
	}
	return nil
}

func (s *Server) disconnected(c *socket.Socket) {
	id := room.Member(c.Id())
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sockets, id)
	s.counters.connected.Add(-1)
	if name, peer, ok := s.rooms.LeaveAll(id); ok {
		s.bye(name, peer, id)
	}
}

// bye tells peer (if any) that gone left room; the caller holds mu.
func (s *Server) bye(name string, peer, gone room.Member) {
	if p := s.sockets[peer]; p != nil {
		s.counters.byes.Add(1)
		p.Emit("bye", name, string(gone))
	}
}

func (s *Server) refused(c *socket.Socket, r *refusal) {
	s.counters.refused.Add(1)
	s.log.Debug("refused", "socket", c.Id(), "event", r.Event, "code", r.Code)
	body, _ := json.Marshal(r)
	c.Emit("error", json.RawMessage(body))
}
