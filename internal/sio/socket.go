package sio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"
	"unicode/utf8"
)

// Why a connection ended; handed to Handler.Disconnect and logged.
var (
	ErrServerClosed   = errors.New("server shutting down")
	ErrClosedByServer = errors.New("closed by the server")
	ErrTransportClose = errors.New("transport close")
	ErrClientLeft     = errors.New("client namespace disconnect")
	ErrPingTimeout    = errors.New("ping timeout")
	ErrQueueFull      = fmt.Errorf("more than %d bytes waiting to be sent: the client does not read", MaxQueuedBytes)
	ErrWriteTimeout   = fmt.Errorf("a websocket write took over %v: the client does not read", WriteTimeout)
	ErrTooLarge       = fmt.Errorf("packet over %d bytes", MaxPacketBytes)
	ErrBinary         = errors.New("binary packets are not accepted")
	ErrBadPacket      = errors.New("malformed or unknown packet")
	ErrOverlap        = errors.New("overlapping polling requests")
)

// transports a connection moves through.
const (
	viaPolling   = iota
	viaProbe     // polling, while a websocket proves itself
	viaWebsocket // upgraded, or opened as one
)

// Socket states with respect to the Handler.
const (
	fresh     = iota // Socket.IO CONNECT not received yet (protocol 5)
	connected        // Handler.Connect ran
	gone             // Handler.Disconnect ran, or the socket ended before connecting
)

// Socket is one client connection: an Engine.IO session carrying one Socket.IO socket on "/".
type Socket struct {
	srv     *Server
	id      string // the Socket.IO socket id, the one handed to peers; never the session id
	sid     string // the Engine.IO session id, which authorizes polling and upgrade requests
	version int    // Engine.IO 3 or 4
	remote  string
	release func()

	// dispatch makes the Handler calls of this socket one at a time, in order.
	dispatch sync.Mutex
	state    int

	mu        sync.Mutex
	transport int
	queue     [][]byte // Engine.IO packets waiting to be sent
	queued    int      // their bytes, plus those being written
	writing   bool     // a websocket writer drains the queue
	getting   bool     // a polling GET is pending
	posting   bool     // a polling POST is being handled
	wake      chan struct{}
	conn      net.Conn // the websocket, once upgraded; nil again once closed
	due       int64    // the wheel tick at which the heartbeat acts
	pinged    bool     // Engine.IO 4: a ping is waiting for its pong
	nextPing  int64    // Engine.IO 4: the tick of the next ping, PingInterval after the last one
	closed    bool
	reason    error

	epoll pollState // under srv.poller's lock
}

func newSocket(srv *Server, version int, remote string, release func()) *Socket {
	return &Socket{srv: srv, id: randomID(), sid: randomID(), version: version, remote: remote, release: release, wake: make(chan struct{}, 1)}
}

// ID is the socket's Socket.IO id, the one peers may learn.
func (c *Socket) ID() string { return c.id }

// RemoteAddr is the address of the client that opened the connection.
func (c *Socket) RemoteAddr() string { return c.remote }

// Emit sends an event; each argument is a string or a json.RawMessage (sent as it is).
func (c *Socket) Emit(name string, args ...any) {
	c.send(appendEvent(make([]byte, 0, eventLen(name, args)), name, args))
}

// Close ends the connection as a lost transport, so socket.io-client reconnects by itself.
func (c *Socket) Close() { c.close(ErrClosedByServer) }

// open queues the handshake and starts the heartbeat; Socket.IO 4 connects at once.
func (c *Socket) open(polling bool) {
	if !polling {
		c.transport = viaWebsocket
	}
	c.send(c.srv.openPacket(c.sid, polling))
	c.mu.Lock()
	c.due = c.srv.beats.after(c.silence())
	due := c.due
	c.mu.Unlock()
	c.srv.beats.add(c, due)
	if c.version == 3 {
		c.connect()
	}
}

// silence is how long the connection may go without a sign of life: Engine.IO 4 sends the next
// ping after it; an Engine.IO 3 client pings by itself within it.
func (c *Socket) silence() time.Duration {
	if c.version == 3 {
		return c.srv.cfg.PingInterval + c.srv.cfg.PingTimeout
	}
	return c.srv.cfg.PingInterval
}

// beat is the heartbeat, run by the wheel at c's due tick or after it: Engine.IO 4 pings, or closes
// when the last ping went unanswered; Engine.IO 3 closes after a silence. It returns the tick at which
// c is due next, false once c is closed.
func (c *Socket) beat(now int64) (int64, bool) {
	c.mu.Lock()
	switch {
	case c.closed:
		c.mu.Unlock()
		return 0, false
	case c.due > now: // alive since it was put in this slot
		due := c.due
		c.mu.Unlock()
		return due, true
	case c.version == 3 || c.pinged:
		c.mu.Unlock()
		c.close(ErrPingTimeout)
		return 0, false
	}
	c.pinged = true
	c.nextPing = c.srv.beats.from(now, c.srv.cfg.PingInterval)
	c.due = c.srv.beats.from(now, c.srv.cfg.PingTimeout)
	due := c.due
	c.mu.Unlock()
	c.send(pingPacket)
	return due, true
}

// pingPacket is Engine.IO's ping, shared by every socket (queued packets are never written to).
var pingPacket = []byte{pPing}

// alive records a sign of life: an Engine.IO 4 pong answering our ping, any Engine.IO 3 packet.
func (c *Socket) alive(pong bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed:
	case c.version == 3:
		c.due = c.srv.beats.after(c.silence())
	case pong && c.pinged: // an unsolicited pong proves nothing
		c.pinged = false
		c.due = c.nextPing // pings keep their pace whatever the round trip, as the client expects them
	}
}

// receive handles one Engine.IO packet from the client; false means the connection is closing.
func (c *Socket) receive(p []byte) bool {
	if len(p) == 0 || !utf8.Valid(p) {
		c.close(ErrBadPacket)
		return false
	}
	if c.version == 3 {
		c.alive(false)
	}
	switch p[0] {
	case pClose:
		c.close(ErrTransportClose)
	case pPing:
		if c.version == 4 { // Engine.IO 4 pings go from server to client only
			c.close(ErrBadPacket)
			break
		}
		pong := append([]byte{pPong}, p[1:]...)
		c.send(pong)
	case pPong:
		c.alive(true)
	case pMessage:
		c.socketPacket(p[1:])
	case pNoop:
	default:
		c.close(ErrBadPacket)
	}
	return !c.isClosed()
}

// socketPacket handles a Socket.IO packet.
func (c *Socket) socketPacket(p []byte) {
	if len(p) == 0 {
		c.close(ErrBadPacket)
		return
	}
	nsp := namespace(p[1:])
	switch p[0] {
	case '0': // CONNECT
		if nsp != "/" {
			c.send(c.connectError(nsp))
			return
		}
		c.connect()
	case '1': // DISCONNECT
		if nsp == "/" {
			c.close(ErrClientLeft)
		}
	case '2': // EVENT
		e, err := decodeEvent(p)
		if err != nil {
			c.close(fmt.Errorf("%w: %v", ErrBadPacket, err))
			return
		}
		if e.Nsp == "/" {
			c.event(e)
		}
	case '3': // ACK: duet never asks for one
	case '5', '6': // BINARY_EVENT, BINARY_ACK
		c.close(ErrBinary)
	default:
		c.close(ErrBadPacket)
	}
}

// namespace reads the `/nsp,` a packet may start with.
func namespace(p []byte) string {
	if len(p) == 0 || p[0] != '/' {
		return "/"
	}
	for i, b := range p[:min(len(p), maxNamespaceLen+1)] {
		if b == ',' {
			return string(p[:i])
		}
	}
	return string(p[:min(len(p), maxNamespaceLen)])
}

// connectError refuses a namespace other than "/", in the form of the client's protocol.
func (c *Socket) connectError(nsp string) []byte {
	q, _ := json.Marshal(nsp)
	nspPrefix := ""
	if json.Valid(q) && len(q) == len(nsp)+2 { // a plain name can be echoed as the reference does
		nspPrefix = nsp + ","
	}
	if c.version == 3 {
		return []byte(`44` + nspPrefix + `"Invalid namespace"`)
	}
	return []byte(`44` + nspPrefix + `{"message":"Invalid namespace"}`)
}

// connect joins the main namespace: once, and never after the socket ended.
func (c *Socket) connect() {
	c.dispatch.Lock()
	defer c.dispatch.Unlock()
	if c.state != fresh || c.isClosed() {
		return
	}
	c.state = connected
	if c.version == 3 {
		c.send([]byte("40"))
	} else {
		c.send([]byte(`40{"sid":"` + c.id + `"}`))
	}
	c.srv.h.Connect(c)
}

// event hands an event to the Handler, in order, and never after Disconnect.
func (c *Socket) event(e Event) {
	c.dispatch.Lock()
	defer c.dispatch.Unlock()
	if c.state == connected {
		c.srv.h.Event(c, e.Name, e.Args)
	}
}

func (c *Socket) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// send queues an Engine.IO packet, closing the connection instead when the queue is over its bound.
func (c *Socket) send(p []byte) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	if c.queued+len(p) > MaxQueuedBytes {
		c.mu.Unlock()
		c.close(ErrQueueFull)
		return
	}
	c.queue = append(c.queue, p)
	c.queued += len(p)
	c.kick()
	c.mu.Unlock()
}

// kick gets the queue moving (c.mu held): a websocket writer, or the pending poll.
func (c *Socket) kick() {
	if c.transport != viaWebsocket {
		select {
		case c.wake <- struct{}{}:
		default:
		}
		return
	}
	if !c.writing && len(c.queue) > 0 && c.conn != nil {
		c.writing = true
		c.srv.work.run(job{c: c, conn: c.conn, write: true})
	}
}

// close ends the connection once; the cleanup runs on its own goroutine, so close may be called
// from anywhere, even from inside another socket's Handler call.
func (c *Socket) close(reason error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed, c.reason = true, reason
	c.queue, c.queued = nil, 0
	select { // a pending poll answers with the close packet
	case c.wake <- struct{}{}:
	default:
	}
	c.mu.Unlock()
	go c.end()
}

// end closes the transport, then lets the Handler know: after any event being handled, once.
func (c *Socket) end() {
	c.mu.Lock()
	conn := c.conn
	c.conn = nil // the wheel may hold c until its slot comes round; the connection goes now
	c.mu.Unlock()
	c.srv.poller.remove(c) // before the fd is closed and its number reused
	if conn != nil {
		_ = conn.Close()
	}
	c.dispatch.Lock()
	if c.state == connected {
		c.srv.h.Disconnect(c, c.reason)
	}
	c.state = gone
	c.dispatch.Unlock()
	c.release()
	c.srv.remove(c)
	level := slog.LevelDebug
	for _, abuse := range []error{ErrBinary, ErrBadPacket, ErrTooLarge, ErrQueueFull, ErrWriteTimeout, ErrOverlap} {
		if errors.Is(c.reason, abuse) {
			level = slog.LevelInfo
		}
	}
	c.srv.log.Log(context.Background(), level, "connection closed", "remote", c.remote, "socket", c.id, "reason", c.reason)
}
