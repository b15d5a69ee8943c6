// Package sio is duet's Engine.IO and Socket.IO server: exactly what duet speaks, nothing more.
//
// Engine.IO 4 (socket.io-client 4.x) and 3 (socket.io-client 2.x), over long-polling (text only) and
// websocket, with the upgrade from one to the other; Socket.IO 5 and 4 on the main namespace "/"
// only, events carried as raw JSON both ways. Every connection has bounded state: at most
// MaxQueuedBytes waiting to be sent, packets of at most MaxPacketBytes, a write deadline.
//
// I/O model: an idle websocket parks no goroutine. On Linux one epoll instance per Server watches
// every upgraded connection (one-shot, armed again after each read), and that epoll fd itself waits
// in Go's netpoller, so no thread blocks in epoll_wait. When bytes arrive a worker reads with a
// buffer borrowed from a pool, handles what is there, and lets go once our buffers and TLS's are
// empty. A write runs on a worker only while the connection's queue holds something, everything
// queued in one buffer flushed at once (several messages in one TLS record). Workers are kept
// between jobs (a few idle at most) so their stacks stay grown. Heartbeats run on one wheel for the
// whole server: one ticker, no timer per connection. Elsewhere than Linux, or for a connection
// without a file descriptor, the websocket keeps a reader goroutine parked in its read.
//
// Measured (cmd/duet-bench load, 2-core box shared with other work, load average 2–13): a reader
// goroutine per connection cost 23.2–23.6 KiB per connected client at N = 10 000 (24–27 at 2 000),
// one goroutine and 5–6.6 KiB of stack each; the poller 16.4–17.1 KiB at 10 000 (17.3–21 at 2 000),
// 20 goroutines in all. The price is CPU per relayed message, up to 15 % more (an epoll_ctl to re-arm,
// the check of TLS's buffer with an expired deadline, a hand-off to a worker), still 0.3–0.4× the
// Node socket.io peer's (BENCHMARKS.md). What stays per idle client is mostly crypto/tls's: its
// connection, two AES-GCM states and the record buffers its handshake grew, about 6 KiB of the 8 KiB
// live heap.
// lesismal/nbio was not measured: it brings its own HTTP server and TLS to get the same saving, where
// this keeps net/http, gin and crypto/tls and adds one file of epoll. The websocket is
// github.com/gobwas/ws because it only upgrades and reads or writes frames on a connection we hold:
// we choose the buffers, when to flush and who reads, where gorilla/websocket and coder/websocket
// own a reader and a writer per connection and flush every message.
//
// Client is the other side, websocket only, for `duet check`: the same codec both ways.
//
// Order and cleanup: a connection's packets are handled one at a time in arrival order, and its
// Handler.Disconnect runs exactly once, after Handler.Connect and after every event handled, however
// the connection ends.
package sio

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Bounds on what one connection may cost.
const (
	// MaxQueuedBytes is how much may wait to be sent to one client; a client that reads slower than
	// its peer writes is disconnected when it is reached.
	MaxQueuedBytes = 1 << 20
	// MaxPacketBytes bounds a websocket message and a polling POST body.
	MaxPacketBytes = 128 << 10
	// WriteTimeout bounds one websocket write.
	WriteTimeout = 10 * time.Second
	// probeTimeout bounds the upgrade from polling to websocket.
	probeTimeout = 10 * time.Second
)

// Handler is what runs on top of the sockets: the room protocol.
type Handler interface {
	// Admit decides on a new connection's handshake request; an error refuses it (403 with the
	// error's text). release is called exactly once when an admitted connection ends.
	Admit(r *http.Request) (release func(), err error)
	// Connect: s joined the main namespace.
	Connect(s *Socket)
	// Event: s sent an event; args are raw JSON and stay valid after the call.
	Event(s *Socket, name string, args []json.RawMessage)
	// Disconnect: s is gone; no call about s follows.
	Disconnect(s *Socket, reason error)
}

// Config tunes the server.
type Config struct {
	// PingInterval and PingTimeout bound how long a vanished client stays connected: Engine.IO 4
	// pings every PingInterval and closes when the pong has not come PingTimeout later; an
	// Engine.IO 3 connection is closed after PingInterval+PingTimeout of silence. The handshake
	// tells clients half of PingTimeout, so a client whose network went away gives up about
	// PingTimeout/2 before the server does, and is back (with a new socket) while its seat holds.
	PingInterval, PingTimeout time.Duration
	Logger                    *slog.Logger
}

var errConfig = fmt.Errorf("sio: PingInterval and PingTimeout must be at least %v and a Logger set", minPing)

// minPing keeps the heartbeat wheel's tick at a millisecond or more.
const minPing = ticksPerTimeout * time.Millisecond

func (c Config) validate() error {
	if c.PingInterval < minPing || c.PingTimeout < minPing || c.Logger == nil {
		return errConfig
	}
	return nil
}

// Server serves /socket.io/.
type Server struct {
	cfg Config
	h   Handler
	log *slog.Logger

	mu      sync.Mutex
	sockets map[string]*Socket // by Engine.IO session id
	closed  bool
	ended   sync.WaitGroup // sockets whose cleanup has not finished
	writers sync.Pool      // websocket write buffers, held only while a writer runs
	readers sync.Pool      // websocket read buffers, held only while a reader runs
	poller  *poller        // nil: every websocket has a reader goroutine
	beats   *wheel
	work    *workers
}

// New makes a server that hands its sockets to h.
func New(cfg Config, h Handler) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	work := newWorkers()
	p, err := newPoller(work)
	if err != nil {
		return nil, fmt.Errorf("sio: %w", err)
	}
	s := &Server{cfg: cfg, h: h, log: cfg.Logger, sockets: map[string]*Socket{}, poller: p, beats: newWheel(cfg, work), work: work}
	s.writers.New = func() any { return bufio.NewWriterSize(nil, 16<<10) }
	s.readers.New = func() any { return bufio.NewReaderSize(nil, pooledReadBuffer) }
	return s, nil
}

// Close ends every connection as a lost transport (clients reconnect by themselves) and waits for
// their Disconnect; new connections are refused from then on.
func (s *Server) Close() {
	s.mu.Lock()
	first := !s.closed
	s.closed = true
	all := make([]*Socket, 0, len(s.sockets))
	for _, c := range s.sockets {
		all = append(all, c)
	}
	s.mu.Unlock()
	for _, c := range all {
		c.close(ErrServerClosed)
	}
	s.ended.Wait()
	if first {
		s.poller.close()
		s.beats.close()
		s.work.close()
	}
}

// Engine.IO's error codes, as the reference server answers them.
const (
	codeUnknownTransport = 0
	codeUnknownSID       = 1
	codeBadHandshake     = 2
	codeBadRequest       = 3
	codeForbidden        = 4
	codeBadVersion       = 5
)

// ServeHTTP routes one request: a handshake, a poll, a POST of packets or a websocket.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	version, _ := strconv.Atoi(q.Get("EIO"))
	if version != 3 && version != 4 {
		refuse(w, http.StatusBadRequest, codeBadVersion, "Unsupported protocol version")
		return
	}
	transport := q.Get("transport")
	if transport != "polling" && transport != "websocket" {
		refuse(w, http.StatusBadRequest, codeUnknownTransport, "Transport unknown")
		return
	}
	sid := q.Get("sid")
	if sid == "" {
		if r.Method != http.MethodGet {
			refuse(w, http.StatusBadRequest, codeBadHandshake, "Bad handshake method")
			return
		}
		s.handshake(w, r, version, transport)
		return
	}
	s.mu.Lock()
	c := s.sockets[sid]
	s.mu.Unlock()
	if c == nil || c.version != version {
		refuse(w, http.StatusBadRequest, codeUnknownSID, "Session ID unknown")
		return
	}
	switch {
	case transport == "websocket" && r.Method == http.MethodGet:
		c.upgrade(w, r)
	case transport == "polling" && r.Method == http.MethodGet:
		c.poll(w, r)
	case transport == "polling" && r.Method == http.MethodPost:
		c.post(w, r)
	default:
		refuse(w, http.StatusBadRequest, codeBadRequest, "Bad request")
	}
}

// handshake opens a new connection on either transport.
func (s *Server) handshake(w http.ResponseWriter, r *http.Request, version int, transport string) {
	if transport == "websocket" && !isUpgrade(r) {
		refuse(w, http.StatusBadRequest, codeBadRequest, "Bad request")
		return
	}
	release, err := s.h.Admit(r)
	if err != nil {
		refuse(w, http.StatusForbidden, codeForbidden, err.Error())
		return
	}
	c := newSocket(s, version, r.RemoteAddr, release)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		release()
		refuse(w, http.StatusServiceUnavailable, codeForbidden, ErrServerClosed.Error())
		return
	}
	s.sockets[c.sid] = c
	s.ended.Add(1)
	s.mu.Unlock()
	c.open(transport == "polling")
	if transport == "polling" {
		c.poll(w, r)
		return
	}
	c.serveWebsocket(w, r, false)
}

// remove forgets a socket whose cleanup is done.
func (s *Server) remove(c *Socket) {
	s.mu.Lock()
	delete(s.sockets, c.sid)
	s.mu.Unlock()
	s.ended.Done()
}

// refuse answers an Engine.IO error in the reference server's JSON form.
func refuse(w http.ResponseWriter, status, code int, message string) {
	body, _ := json.Marshal(struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}{code, message})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// randomID is 120 random bits, URL-safe: session ids and socket ids.
func randomID() string {
	var b [15]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// openPacket is Engine.IO's handshake.
func (s *Server) openPacket(sid string, polling bool) []byte {
	upgrades := "[]"
	if polling {
		upgrades = `["websocket"]`
	}
	return fmt.Appendf(nil, `0{"sid":"%s","upgrades":%s,"pingInterval":%d,"pingTimeout":%d,"maxPayload":%d}`,
		sid, upgrades, s.cfg.PingInterval.Milliseconds(), (s.cfg.PingTimeout / 2).Milliseconds(), MaxPacketBytes)
}
