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

	"duet/internal/room"
)

// Config tunes the signaling server.
type Config struct {
	// PingInterval and PingTimeout bound how long a vanished peer (network lost) stays in a room.
	PingInterval, PingTimeout time.Duration
	Logger                    *slog.Logger
}

// DefaultConfig detects a lost peer within 20 s, where Socket.IO's defaults take 45 s.
func DefaultConfig() Config {
	return Config{PingInterval: 10 * time.Second, PingTimeout: 10 * time.Second, Logger: slog.Default()}
}

// Server is the Socket.IO endpoint and the room table behind it.
type Server struct {
	io    *socket.Server
	http  http.Handler
	log   *slog.Logger
	Stats Stats

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
		io:      socket.NewServer(nil, opts),
		log:     cfg.Logger,
		rooms:   room.New(),
		sockets: map[room.Member]*socket.Socket{},
	}
	s.http = s.io.ServeHandler(nil)
	s.io.On("connection", func(args ...any) { s.connected(args[0].(*socket.Socket)) })
	return s
}

// Handler serves the Socket.IO transports (polling and websocket).
func (s *Server) Handler() http.Handler { return s.http }

// Close disconnects every client.
func (s *Server) Close() { s.io.Close(nil) }

// Occupancy returns how many rooms hold one and two people.
func (s *Server) Occupancy() [room.Capacity + 1]int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.rooms.Occupancy()
}

func (s *Server) connected(c *socket.Socket) {
	id := room.Member(c.Id())
	s.mu.Lock()
	s.sockets[id] = c
	s.mu.Unlock()
	s.Stats.Connected.Add(1)
	c.On("join", func(args ...any) { s.join(c, args) })
	c.On("leave", func(args ...any) { s.leave(c, args) })
	c.On("message", func(args ...any) { s.message(c, args) })
	c.OnAny(func(args ...any) {
		if name, _ := args[0].(string); name != "join" && name != "leave" && name != "message" {
			s.refused(c, refuse(name, "unknown_event", "duet understands join, leave and message"))
		}
	})
	c.On("disconnect", func(...any) { s.disconnected(c) })
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
		s.Stats.Fulls.Add(1)
		c.Emit("full", name, string(id))
	case errors.Is(err, room.ErrInOtherRoom):
		s.refused(c, refuse("join", "in_other_room", "leave your current room before joining %q", name))
	case errors.Is(err, room.ErrAlreadyJoined):
		s.refused(c, refuse("join", "already_joined", "you are already in room %q", name))
	default:
		s.Stats.Joins.Add(1)
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
		s.Stats.Relayed.Add(1)
	}
	return nil
}

func (s *Server) disconnected(c *socket.Socket) {
	id := room.Member(c.Id())
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sockets, id)
	s.Stats.Connected.Add(-1)
	if name, peer, ok := s.rooms.LeaveAll(id); ok {
		s.bye(name, peer, id)
	}
}

// bye tells peer (if any) that gone left room; the caller holds mu.
func (s *Server) bye(name string, peer, gone room.Member) {
	if p := s.sockets[peer]; p != nil {
		s.Stats.Byes.Add(1)
		p.Emit("bye", name, string(gone))
	}
}

func (s *Server) refused(c *socket.Socket, r *refusal) {
	s.Stats.Refused.Add(1)
	s.log.Debug("refused", "socket", c.Id(), "event", r.Event, "code", r.Code)
	body, _ := json.Marshal(r)
	c.Emit("error", json.RawMessage(body))
}
