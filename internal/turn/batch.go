package turn

import (
	"errors"
	"net"
	"runtime"
	"sync"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// batchAvailable: recvmmsg and sendmmsg exist (x/net falls back to one message per call elsewhere).
const batchAvailable = runtime.GOOS == "linux"

// Batch sizes: messages per recvmmsg/sendmmsg. The listener carries every client; a relay socket
// one allocation, and there may be thousands, so its buffers stay small.
const (
	listenerBatch = 64
	relayBatch    = 8
	// batchSlot holds any packet pion accepts (its read buffers are 1600 bytes; longer ones it drops).
	batchSlot = 2048
)

// mmsgConn is what x/net's ipv4 and ipv6 PacketConns share (their Message is one type).
type mmsgConn interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

// batchConn is the net.PacketConn pion gets for a UDP socket: ReadFrom hands out, one at a time,
// the packets a single recvmmsg returned; WriteTo sends at once unless another writer is already
// sending, in which case that writer takes the packet along in its next sendmmsg before it returns.
// No timer is involved: a packet never waits for others to fill a batch.
type batchConn struct {
	net.PacketConn // the *net.UDPConn: addresses, deadlines, Close
	mm             mmsgConn
	r              batchReader
	w              batchWriter
}

// newBatchConn wraps uc with batches of size messages.
func newBatchConn(uc *net.UDPConn, size int) *batchConn {
	var mm mmsgConn
	if la, ok := uc.LocalAddr().(*net.UDPAddr); ok && la.IP.To4() == nil {
		mm = ipv6.NewPacketConn(uc) // also the dual-stack wildcard socket
	} else {
		mm = ipv4.NewPacketConn(uc)
	}
	c := &batchConn{PacketConn: uc, mm: mm}
	c.r.msgs = newMessages(size)
	c.w.size = size
	c.w.room.L = &c.w.mu
	c.w.lone = []ipv4.Message{{Buffers: make([][]byte, 1)}}
	return c
}

// newMessages allocates n messages, each with its own batchSlot buffer, in one block.
func newMessages(n int) []ipv4.Message {
	ms := make([]ipv4.Message, n)
	bufs := make([][]byte, n)
	slab := make([]byte, n*batchSlot)
	for i := range ms {
		bufs[i] = slab[i*batchSlot : (i+1)*batchSlot : (i+1)*batchSlot]
		ms[i].Buffers = bufs[i : i+1 : i+1]
	}
	return ms
}

// batchReader holds the packets of the last recvmmsg not yet handed out.
type batchReader struct {
	mu         sync.Mutex
	msgs       []ipv4.Message
	next, have int
}

func (c *batchConn) ReadFrom(p []byte) (int, net.Addr, error) {
	r := &c.r
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.next == r.have {
		n, err := c.mm.ReadBatch(r.msgs, 0)
		if err != nil {
			return 0, nil, err
		}
		r.next, r.have = 0, n
	}
	m := &r.msgs[r.next]
	r.next++
	addr := m.Addr
	m.Addr = nil
	// A packet longer than p is cut short, as a plain UDP read does.
	return copy(p, m.Buffers[0][:m.N]), addr, nil
}

// batchWriter queues packets while a sendmmsg is in flight. Two batches alternate: writers fill
// pending while the flusher sends the other one.
type batchWriter struct {
	size int

	mu       sync.Mutex
	room     sync.Cond // signalled when the flusher takes the pending batch or stops
	flushing bool      // a writer holds the flusher role
	pending  writeBatch
	spare    writeBatch
	lone     []ipv4.Message // the flusher's own packet, sent from the caller's buffer without a copy
}

type writeBatch struct {
	msgs []ipv4.Message // allocated on first use: a socket never written to concurrently never needs it
	n    int
}

func (c *batchConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if len(p) > batchSlot {
		return c.PacketConn.WriteTo(p, addr) // never from pion's relay path (its buffers are smaller)
	}
	w := &c.w
	w.mu.Lock()
	for {
		if !w.flushing {
			w.flushing = true
			w.mu.Unlock()
			return c.flushWith(p, addr)
		}
		if w.pending.msgs == nil {
			w.pending.msgs, w.spare.msgs = newMessages(w.size), newMessages(w.size)
		}
		if w.pending.n < w.size {
			m := &w.pending.msgs[w.pending.n]
			w.pending.n++
			m.Buffers[0] = m.Buffers[0][:copy(m.Buffers[0][:batchSlot], p)]
			m.Addr = addr
			w.mu.Unlock()
			return len(p), nil // the flusher in flight sends it before it gives up the role
		}
		w.room.Wait()
	}
}

// flushWith sends p, then whatever other writers queued meanwhile, then gives up the flusher role.
func (c *batchConn) flushWith(p []byte, addr net.Addr) (int, error) {
	w := &c.w
	w.lone[0].Buffers[0], w.lone[0].Addr = p, addr
	err := c.send(w.lone)
	w.lone[0].Buffers[0], w.lone[0].Addr = nil, nil

	w.mu.Lock()
	for w.pending.n > 0 {
		b := w.pending
		w.pending, w.spare = w.spare, writeBatch{msgs: b.msgs}
		w.room.Broadcast()
		w.mu.Unlock()
		_ = c.send(b.msgs[:b.n]) // a queued packet that fails is lost like any datagram
		for i := range b.msgs[:b.n] {
			b.msgs[i].Addr = nil
		}
		w.mu.Lock()
	}
	w.flushing = false
	w.room.Broadcast()
	w.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// send writes ms with as few sendmmsg calls as the kernel allows. A message the kernel refuses
// (e.g. no route) is skipped; the first such error is returned. A closed socket stops it.
func (c *batchConn) send(ms []ipv4.Message) error {
	var first error
	for len(ms) > 0 {
		n, err := c.mm.WriteBatch(ms, 0)
		if err == nil {
			ms = ms[n:]
			continue
		}
		if errors.Is(err, net.ErrClosed) {
			return err
		}
		if first == nil {
			first = err
		}
		ms = ms[max(n, 0)+1:] // n were sent (the kernel says -1 for none); the next one failed
	}
	return first
}

// batched wraps a UDP socket in a batchConn when batching is on; anything else passes through.
func (s *Server) batched(pc net.PacketConn, size int) net.PacketConn {
	uc, ok := pc.(*net.UDPConn)
	if !ok || s.cfg.Batch == ModeOff || !batchAvailable {
		return pc
	}
	return newBatchConn(uc, size)
}
