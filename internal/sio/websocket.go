package sio

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/gobwas/ws"
)

// isUpgrade reports whether r asks for a websocket.
func isUpgrade(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// upgrade moves a polling connection to a websocket: the websocket is probed (2probe, 3probe), the
// pending poll released with a noop, and the client's upgrade packet switches the queue over. A
// connection upgrades once; every later websocket or poll with its sid is refused.
func (c *Socket) upgrade(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	ok := c.transport == viaPolling && !c.closed && isUpgrade(r)
	if ok {
		c.transport = viaProbe
	}
	c.mu.Unlock()
	if !ok {
		refuse(w, http.StatusBadRequest, codeBadRequest, "Bad request")
		return
	}
	c.serveWebsocket(w, r, true)
}

// serveWebsocket takes over the request's connection and starts its reader; probe is true for an
// upgrade of a polling connection.
func (c *Socket) serveWebsocket(w http.ResponseWriter, r *http.Request, probe bool) {
	conn, rw, _, err := ws.HTTPUpgrader{Timeout: WriteTimeout}.Upgrade(r, w)
	if err != nil {
		if conn != nil {
			_ = conn.Close()
		}
		c.abortProbe(probe)
		return
	}
	if probe && !c.probe(conn, rw.Reader) {
		_ = conn.Close()
		c.abortProbe(probe)
		return
	}
	c.mu.Lock()
	closed := c.closed
	if !closed {
		c.conn, c.transport = conn, viaWebsocket
		c.kick()
		select { // a pending poll answers with a noop
		case c.wake <- struct{}{}:
		default:
		}
	}
	c.mu.Unlock()
	if closed {
		_ = conn.Close()
		return
	}
	if c.srv.poller != nil && c.srv.poller.add(c, conn) == nil {
		c.readReady(conn, rw.Reader) // reads what already came, then leaves the connection to the poller
		return
	}
	// A goroutine of its own, so the request, its handler chain and their stack are let go of.
	go c.read(smallReader(conn, rw.Reader))
}

// abortProbe keeps a connection on polling after a failed upgrade.
func (c *Socket) abortProbe(probe bool) {
	if !probe {
		c.close(ErrTransportClose)
		return
	}
	c.mu.Lock()
	if c.transport == viaProbe {
		c.transport = viaPolling
	}
	c.mu.Unlock()
}

// probe runs the upgrade's exchange on the new websocket while polling carries on.
func (c *Socket) probe(conn net.Conn, br *bufio.Reader) bool {
	_ = conn.SetReadDeadline(time.Now().Add(probeTimeout))
	defer conn.SetReadDeadline(time.Time{})
	if p, err := readMessage(br); err != nil || string(p) != "2probe" {
		return false
	}
	_ = conn.SetWriteDeadline(time.Now().Add(WriteTimeout))
	if err := ws.WriteFrame(conn, ws.NewTextFrame([]byte("3probe"))); err != nil {
		return false
	}
	_ = conn.SetWriteDeadline(time.Time{})
	c.send([]byte{pNoop}) // lets the client's pending poll return, so it can pause polling
	p, err := readMessage(br)
	return err == nil && len(p) == 1 && p[0] == pUpgrade
}

// smallReader trades the server's 4 KiB read buffer for a smaller one when it holds nothing yet:
// what is read is mostly small frames, and an idle connection keeps its buffer.
func smallReader(conn net.Conn, br *bufio.Reader) *bufio.Reader {
	if br.Buffered() > 0 {
		return br
	}
	return bufio.NewReaderSize(conn, readBuffer)
}

// readBuffer is the read buffer a websocket keeps when it keeps one (a reader goroutine's, the
// client's); pooledReadBuffer the one borrowed while a poller's worker reads.
const (
	readBuffer       = 1 << 10
	pooledReadBuffer = 4 << 10
)

// read handles the websocket's messages until it ends.
func (c *Socket) read(br *bufio.Reader) {
	for {
		p, err := readMessage(br)
		if err != nil {
			c.close(err)
			return
		}
		if !c.receive(p) {
			return
		}
	}
}

// readReady reads the messages the poller saw arrive (br nil: a pooled buffer) or the upgrade left
// in br, until the connection's buffers, ours and TLS's, are empty; then it arms the poller again and
// returns, keeping no goroutine and no read buffer. A message that is partly there is waited for.
func (c *Socket) readReady(conn net.Conn, br *bufio.Reader) {
	pooled := br == nil
	if pooled {
		br = c.srv.readers.Get().(*bufio.Reader)
		br.Reset(conn)
		defer func() {
			br.Reset(nil)
			c.srv.readers.Put(br)
		}()
	}
	for ready := pooled; ; ready = false {
		if !ready {
			more, err := more(conn, br)
			if err != nil {
				c.close(err)
				return
			}
			if !more {
				if err := c.srv.poller.rearm(c); err != nil {
					c.close(ErrTransportClose)
				}
				return
			}
		}
		p, err := readMessage(br)
		if err != nil {
			c.close(err)
			return
		}
		if !c.receive(p) {
			return
		}
	}
}

// more reports whether bytes wait in br or in the TLS connection's buffers, without waiting for the
// network: a read with its deadline already passed returns what TLS holds and never blocks.
func more(conn net.Conn, br *bufio.Reader) (bool, error) {
	if br.Buffered() > 0 {
		return true, nil
	}
	_ = conn.SetReadDeadline(longAgo)
	_, err := br.Peek(1)
	_ = conn.SetReadDeadline(time.Time{})
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, os.ErrDeadlineExceeded):
		return false, nil
	}
	return false, ErrTransportClose
}

// longAgo is a deadline that has passed.
var longAgo = time.Unix(1, 0)

// errNoFD: the connection has no file descriptor to watch; it gets a reader goroutine instead.
var errNoFD = errors.New("sio: connection without a file descriptor")

// netConn is the network connection under TLS, the one with a file descriptor.
func netConn(conn net.Conn) net.Conn {
	if tc, ok := conn.(*tls.Conn); ok {
		return tc.NetConn()
	}
	return conn
}

// readMessage reads one text message: control frames are answered or skipped, fragments joined,
// binary messages and anything over MaxPacketBytes refused.
func readMessage(br *bufio.Reader) ([]byte, error) { return readFrames(br, true) }

// readFrames reads one text message; frames from a client are masked, from a server not.
func readFrames(br *bufio.Reader, fromClient bool) ([]byte, error) {
	var msg []byte
	for {
		h, err := ws.ReadHeader(br)
		if err != nil {
			return nil, ErrTransportClose
		}
		if h.Length > MaxPacketBytes || int64(len(msg))+h.Length > MaxPacketBytes {
			return nil, ErrTooLarge
		}
		if h.Rsv != 0 || h.Masked != fromClient { // no extension was negotiated; RFC 6455 has clients mask
			return nil, ErrBadPacket
		}
		p, err := readPayload(br, int(h.Length))
		if err != nil {
			return nil, ErrTransportClose
		}
		if h.Masked {
			ws.Cipher(p, h.Mask, 0)
		}
		switch h.OpCode {
		case ws.OpClose:
			return nil, ErrTransportClose
		case ws.OpPing, ws.OpPong: // browsers never ping; the heartbeat is Engine.IO's own
			continue
		case ws.OpBinary:
			return nil, ErrBinary
		case ws.OpText:
			if msg != nil {
				return nil, ErrBadPacket
			}
			msg = p
		case ws.OpContinuation:
			if msg == nil {
				return nil, ErrBadPacket
			}
			msg = append(msg, p...)
		default:
			return nil, ErrBadPacket
		}
		if h.Fin {
			return msg, nil
		}
	}
}

// readPayload reads n bytes; a large declared length is not trusted for allocation, so a client
// that announces 128 KiB and sends nothing costs nothing.
func readPayload(br *bufio.Reader, n int) ([]byte, error) {
	if n <= smallFrame {
		p := make([]byte, n)
		_, err := io.ReadFull(br, p)
		return p, err
	}
	p, err := io.ReadAll(io.LimitReader(br, int64(n)))
	if err == nil && len(p) < n {
		err = io.ErrUnexpectedEOF
	}
	return p, err
}

// smallFrame is the declared length allocated at once: what signaling messages usually are.
const smallFrame = 4 << 10

// write drains the queue onto the websocket, everything queued at once, and ends when it is empty.
func (c *Socket) write(conn net.Conn) {
	bw := c.srv.writers.Get().(*bufio.Writer)
	defer c.srv.writers.Put(bw)
	bw.Reset(conn)
	defer bw.Reset(nil)
	for {
		c.mu.Lock()
		batch := c.queue
		c.queue = nil
		if len(batch) == 0 || c.closed {
			c.writing = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		_ = conn.SetWriteDeadline(time.Now().Add(WriteTimeout))
		n := 0
		for _, p := range batch {
			_ = ws.WriteHeader(bw, ws.Header{Fin: true, OpCode: ws.OpText, Length: int64(len(p))})
			_, _ = bw.Write(p)
			n += len(p)
		}
		err := bw.Flush()
		c.mu.Lock()
		if !c.closed {
			c.queued -= n
		}
		c.mu.Unlock()
		if err != nil {
			c.mu.Lock()
			c.writing = false
			c.mu.Unlock()
			reason := ErrTransportClose
			if errors.Is(err, os.ErrDeadlineExceeded) {
				reason = ErrWriteTimeout
			}
			c.close(reason)
			return
		}
	}
}
