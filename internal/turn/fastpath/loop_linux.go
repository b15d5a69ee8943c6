//go:build linux

package fastpath

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Loop is the relaying goroutine with its sockets and channel table.
type Loop struct {
	epfd   int
	poller *os.File      // epfd in Go's poller: the loop's goroutine parks there, not in epoll_wait
	done   chan struct{} // closed when the loop's goroutine has returned

	// mu guards the tables; the loop holds it for reading over each round of events, so a Conn
	// it found stays in them until the round ends.
	mu       sync.RWMutex
	closed   bool
	nextID   int32
	conns    map[int32]*Conn
	relays   map[netip.AddrPort]*Conn // relay sockets by relayed address
	toPeer   map[channelKey]toPeerRoute
	toClient map[peerKey]toClientRoute
	listener *Conn

	toPeers, bytesToPeers, fromPeers, bytesFromPeers, dropped atomic.Uint64

	packets sync.Pool // of *packet, for the queues

	in  arena    // what the last recvmmsg calls read
	c2p sendList // ChannelData payloads toward peers, through relay sockets
	l2c sendList // peers' datagrams toward clients, through the listener
}

type channelKey struct {
	client netip.AddrPort
	number uint16
}

type peerKey struct {
	relay int32 // the Conn's id
	peer  netip.AddrPort
}

type toPeerRoute struct {
	relay   *Conn
	peer    netip.AddrPort
	name    sockaddr // the peer's, for the relay socket
	hairpin bool     // Channel.Hairpin
}

type toClientRoute struct {
	number uint16
	name   sockaddr // the client's, for the listener
}

// packet is a datagram queued for pion.
type packet struct {
	buf  [PacketSize]byte
	n    int
	from netip.AddrPort
}

// Conn is a socket the loop owns: the loop reads it, pion reads what the loop leaves it and
// writes directly. The loop takes the descriptor over from the *net.UDPConn it was given and closes
// that, so Go's own poller stops watching the socket: it woke a thread for every datagram, which
// cost as much as relaying it. Deadlines do not apply: Close ends a read, and writes never wait.
type Conn struct {
	l         *Loop
	id        int32
	fd        int
	v6        bool // an AF_INET6 socket: IPv4 addresses go as mapped ones
	local     *net.UDPAddr
	relayed   netip.AddrPort // a relay socket's relayed address (unmapped)
	queue     chan *packet
	done      chan struct{} // closed by Close: a blocked ReadFrom returns
	closeOnce sync.Once

	mu     sync.RWMutex // read-held around each system call on fd; Close write-holds it to close fd
	closed bool
	keys   []channelKey // the channels relayed through this socket, under l.mu

	// paused: the queue was full, so the loop stopped watching fd; the reader resumes it.
	paused atomic.Bool

	// behind counts datagrams handed to pion that it has not finished with: queued, or returned
	// by ReadFrom before pion's one reader came back for the next. While it is not zero the loop
	// queues a known channel's datagrams too, so none overtakes an older one of the same socket.
	behind atomic.Int32
	handed bool // the reader's: its last ReadFrom returned a datagram
}

// ReadFrom returns the next datagram the loop left for pion. One goroutine reads (pion has one
// per socket). Read deadlines do not apply (pion sets none on UDP sockets); Close ends a blocked read.
func (c *Conn) ReadFrom(p []byte) (int, net.Addr, error) {
	if c.handed {
		c.handed = false
		c.behind.Add(-1)
	}
	select {
	case pk := <-c.queue:
		n, from := copy(p, pk.buf[:pk.n]), net.UDPAddrFromAddrPort(pk.from)
		c.l.packets.Put(pk)
		c.handed = true
		if c.paused.CompareAndSwap(true, false) {
			c.l.watchAgain(c)
		}
		return n, from, nil
	case <-c.done:
		return 0, nil, c.opError("read", nil, net.ErrClosed)
	}
}

// WriteTo sends p to addr at once. A full socket buffer loses the datagram, as the network may
// (counted as dropped); pion logs any error returned, so that is not one.
func (c *Conn) WriteTo(p []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, c.opError("write", addr, net.InvalidAddrError("not a UDP address"))
	}
	sa, ok := sockaddrOf(ua.AddrPort(), c.v6)
	if !ok {
		return 0, c.opError("write", addr, ErrAddress)
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return 0, c.opError("write", addr, net.ErrClosed)
	}
	_, _, errno := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(c.fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)),
		unix.MSG_DONTWAIT, uintptr(unsafe.Pointer(&sa.raw)), uintptr(sa.len))
	switch errno {
	case 0:
		return len(p), nil
	case unix.EAGAIN:
		c.l.dropped.Add(1)
		return len(p), nil
	default:
		return 0, c.opError("write", addr, os.NewSyscallError("sendto", errno))
	}
}

func (c *Conn) opError(op string, addr net.Addr, err error) error {
	return &net.OpError{Op: op, Net: "udp", Source: c.local, Addr: addr, Err: err}
}

// LocalAddr is the socket's bound address.
func (c *Conn) LocalAddr() net.Addr { return c.local }

// SetDeadline, SetReadDeadline and SetWriteDeadline do nothing (see Conn).
func (c *Conn) SetDeadline(time.Time) error      { return nil }
func (c *Conn) SetReadDeadline(time.Time) error  { return nil }
func (c *Conn) SetWriteDeadline(time.Time) error { return nil }

// unread reports whether c's socket holds a datagram the loop has not read (or cannot tell).
func (c *Conn) unread() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return false
	}
	var n int32
	_, _, errno := unix.RawSyscall(unix.SYS_IOCTL, uintptr(c.fd), unix.SIOCINQ, uintptr(unsafe.Pointer(&n)))
	return errno != 0 || n > 0
}

// offer queues a copy of b from from for pion, or reports false when the queue is full (the loop
// reads no more than there is room for, so only a second sender could fill it meanwhile).
func (c *Conn) offer(b []byte, from netip.AddrPort) bool {
	pk, _ := c.l.packets.Get().(*packet)
	if pk == nil {
		pk = new(packet)
	}
	pk.n, pk.from = copy(pk.buf[:], b), from
	c.behind.Add(1)
	select {
	case c.queue <- pk:
		return true
	default:
		c.behind.Add(-1)
		c.l.packets.Put(pk)
		return false
	}
}

// mmsghdr is struct mmsghdr; Go pads it as C does.
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
}

// sockaddr is a raw socket address of either family, as the kernel reads and writes it.
type sockaddr struct {
	raw unix.RawSockaddrInet6 // the largest; an IPv4 one uses its first bytes
	len uint32
}

type arena struct {
	used  int
	msgs  [batch]mmsghdr
	iovs  [batch]unix.Iovec
	names [batch]unix.RawSockaddrInet6
	bufs  [batch][PacketSize]byte
}

// sendList is a batch of datagrams to send, each pointing into the arena; a ChannelData header
// and padding go in front of and after a peer's payload without a copy.
type sendList struct {
	n     int
	to    [batch]*Conn
	msgs  [batch]mmsghdr
	iovs  [batch][3]unix.Iovec
	names [batch]sockaddr
	heads [batch][4]byte
	sizes [batch]int // payload bytes, for the counters
}

var zeros [3]byte // ChannelData padding

// New starts the loop on listener, the client-facing UDP socket.
func New(listener *net.UDPConn) (*Loop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("fastpath: epoll: %w", err)
	}
	// Go's poller takes a non-blocking descriptor; an epoll instance is readable while events wait.
	if err := unix.SetNonblock(epfd, true); err != nil {
		_ = unix.Close(epfd)
		return nil, fmt.Errorf("fastpath: epoll: %w", err)
	}
	l := &Loop{epfd: epfd, poller: os.NewFile(uintptr(epfd), "fastpath-epoll"), done: make(chan struct{}),
		conns: map[int32]*Conn{}, relays: map[netip.AddrPort]*Conn{}, toPeer: map[channelKey]toPeerRoute{}, toClient: map[peerKey]toClientRoute{}}
	if err := l.poller.SetReadDeadline(time.Time{}); err != nil { // fails when Go's poller refused it
		_ = l.poller.Close()
		return nil, fmt.Errorf("fastpath: epoll in Go's poller: %w", err)
	}
	for i := range l.in.msgs {
		l.in.iovs[i].Base = &l.in.bufs[i][0]
		l.in.iovs[i].SetLen(PacketSize) // recvmmsg leaves the iovecs as they are
		l.in.msgs[i].hdr.Iov = &l.in.iovs[i]
		l.in.msgs[i].hdr.SetIovlen(1)
		l.in.msgs[i].hdr.Name = (*byte)(unsafe.Pointer(&l.in.names[i]))
	}
	for _, s := range []*sendList{&l.c2p, &l.l2c} {
		for i := range s.msgs {
			s.msgs[i].hdr.Iov = &s.iovs[i][0]
			s.msgs[i].hdr.Name = (*byte)(unsafe.Pointer(&s.names[i].raw))
		}
	}
	if l.listener, err = l.watch(listener, ListenerQueue, netip.AddrPort{}); err != nil {
		_ = l.poller.Close()
		return nil, err
	}
	go l.run()
	return l, nil
}

// Listener is the listener as pion reads it.
func (l *Loop) Listener() *Conn { return l.listener }

// Relay hands a relay socket to the loop, with the relayed address its allocation advertises;
// pion reads and writes it through the Conn returned.
func (l *Loop) Relay(uc *net.UDPConn, relayed netip.AddrPort) (*Conn, error) {
	return l.watch(uc, RelayQueue, relayed)
}

func (l *Loop) watch(uc *net.UDPConn, queue int, relayed netip.AddrPort) (*Conn, error) {
	c := &Conn{queue: make(chan *packet, queue), done: make(chan struct{}), l: l, local: uc.LocalAddr().(*net.UDPAddr)}
	rc, err := uc.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("fastpath: %w", err)
	}
	var dupErr error
	if err := rc.Control(func(fd uintptr) { c.fd, dupErr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0) }); err != nil || dupErr != nil {
		return nil, fmt.Errorf("fastpath: taking the socket over: %w", errors.Join(err, dupErr))
	}
	_ = uc.Close() // the copy keeps the socket open (non-blocking, as Go made it)
	sa, err := unix.Getsockname(c.fd)
	if err != nil {
		_ = unix.Close(c.fd)
		return nil, fmt.Errorf("fastpath: %w", err)
	}
	_, c.v6 = sa.(*unix.SockaddrInet6)

	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		_ = unix.Close(c.fd)
		return nil, ErrClosed
	}
	l.nextID++
	c.id = l.nextID
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, c.fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: c.id}); err != nil {
		_ = unix.Close(c.fd)
		return nil, fmt.Errorf("fastpath: epoll: %w", err)
	}
	l.conns[c.id] = c
	if relayed.IsValid() {
		c.relayed = unmap(relayed)
		l.relays[c.relayed] = c
	}
	return c, nil
}

// Close stops reading the socket (pion's blocked read returns) and closes it.
func (c *Conn) Close() error {
	err := c.opError("close", nil, net.ErrClosed)
	c.closeOnce.Do(func() {
		l := c.l
		l.mu.Lock()
		for _, k := range c.keys {
			l.unroute(k)
		}
		delete(l.conns, c.id)
		if c.relayed.IsValid() && l.relays[c.relayed] == c {
			delete(l.relays, c.relayed)
		}
		c.mu.Lock()
		c.closed = true
		if !l.closed {
			_ = unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, c.fd, nil)
		}
		err = unix.Close(c.fd)
		c.mu.Unlock()
		l.mu.Unlock()
		close(c.done)
	})
	return err
}

// Add relays ch on the loop from now on; a channel already there is replaced.
func (l *Loop) Add(ch Channel) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	relay := l.relays[unmap(ch.Relay)]
	if relay == nil {
		return ErrUnknownRelay
	}
	peer, ok1 := sockaddrOf(ch.Peer, relay.v6)
	client, ok2 := sockaddrOf(ch.Client, l.listener.v6)
	if !ok1 || !ok2 {
		return ErrAddress
	}
	k, peerAt := channelKey{unmap(ch.Client), ch.Number}, unmap(ch.Peer) // as the arena's sources are
	if _, ok := l.toPeer[k]; ok {
		l.unroute(k)
	}
	l.toPeer[k] = toPeerRoute{relay: relay, peer: peerAt, name: peer, hairpin: ch.Hairpin}
	l.toClient[peerKey{relay.id, peerAt}] = toClientRoute{number: ch.Number, name: client}
	relay.keys = append(relay.keys, k)
	return nil
}

// Remove stops relaying a channel (it expired); pion sees its packets again. A relay socket's
// channels go when it closes, with its allocation.
func (l *Loop) Remove(client netip.AddrPort, number uint16) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.unroute(channelKey{unmap(client), number})
}

// unroute removes a channel both ways; l.mu is held.
func (l *Loop) unroute(k channelKey) {
	r, ok := l.toPeer[k]
	if !ok {
		return
	}
	delete(l.toPeer, k)
	delete(l.toClient, peerKey{r.relay.id, r.peer})
	keys := r.relay.keys
	for i := range keys {
		if keys[i] == k {
			keys[i] = keys[len(keys)-1]
			r.relay.keys = keys[:len(keys)-1]
			break
		}
	}
}

// Channels is how many channels the loop relays.
func (l *Loop) Channels() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return len(l.toPeer)
}

// Collect returns what the loop relayed and dropped since the last call.
func (l *Loop) Collect() Counters {
	return Counters{
		PacketsToPeers: l.toPeers.Swap(0), BytesToPeers: l.bytesToPeers.Swap(0),
		PacketsFromPeers: l.fromPeers.Swap(0), BytesFromPeers: l.bytesFromPeers.Swap(0),
		Dropped: l.dropped.Swap(0),
	}
}

// Close stops the loop. The Conns stay open until their owners close them.
func (l *Loop) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	err := l.poller.Close() // ends the loop's wait; the descriptor closes once its round is over
	<-l.done
	return err
}

// run waits in Go's poller until a socket is readable, then takes rounds of events without
// waiting (reading, relaying or queueing, sending) until none is left, and waits again. Parking a
// goroutine there, rather than a thread in epoll_wait, leaves Go's scheduler and its monitor idle
// between packets.
func (l *Loop) run() {
	defer close(l.done)
	rc, err := l.poller.SyscallConn()
	if err != nil {
		return
	}
	events := make([]unix.EpollEvent, batch)
	_ = rc.Read(func(fd uintptr) bool {
		for {
			n, err := epollPoll(int(fd), events)
			if err == unix.EINTR {
				continue
			}
			if err != nil || n == 0 {
				return err != nil // nothing ready: wait in Go's poller
			}
			l.round(events[:n])
		}
	})
}

// round handles one epoll_wait's events.
func (l *Loop) round(events []unix.EpollEvent) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	for _, ev := range events {
		if c := l.conns[ev.Fd]; c != nil {
			l.read(c)
		}
	}
	l.flush()
}

// read takes what c has queued, up to the arena's free space, and relays or queues each datagram.
func (l *Loop) read(c *Conn) {
	if l.in.used == batch {
		l.flush()
	}
	first := l.in.used
	room := cap(c.queue) - len(c.queue) // every datagram read may end up queued for pion
	if room == 0 {
		l.pause(c) // an error (EPOLLERR is always reported) would wake the loop again: take it
		c.mu.RLock()
		if !c.closed {
			_, _ = unix.GetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_ERROR)
		}
		c.mu.RUnlock()
		return
	}
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return
	}
	msgs := l.in.msgs[first : first+min(room, batch-first)]
	for i := range msgs {
		msgs[i].hdr.Namelen = unix.SizeofSockaddrInet6 // the kernel wrote the last source's length
	}
	n, err := mmsg(unix.SYS_RECVMMSG, c.fd, msgs)
	c.mu.RUnlock()
	if err != nil {
		return // EAGAIN: another round took it; anything else shows again as readable
	}
	l.in.used += n
	for i := first; i < first+n; i++ {
		l.dispatch(c, i)
	}
}

// pause stops watching c while its queue is full; whichever of the loop (seeing room again) and
// the reader (taking a datagram) first clears paused watches it again.
func (l *Loop) pause(c *Conn) {
	l.epollMod(c, 0)
	c.paused.Store(true)
	if len(c.queue) < cap(c.queue) && c.paused.CompareAndSwap(true, false) {
		l.epollMod(c, unix.EPOLLIN)
	}
}

// watchAgain is the reader's half of pause.
func (l *Loop) watchAgain(c *Conn) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if !l.closed {
		l.epollMod(c, unix.EPOLLIN)
	}
}

// epollMod sets the events watched on c's socket unless it is closed; l.mu is held for reading.
func (l *Loop) epollMod(c *Conn, events uint32) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.closed {
		_ = unix.EpollCtl(l.epfd, unix.EPOLL_CTL_MOD, c.fd, &unix.EpollEvent{Events: events, Fd: c.id})
	}
}

// dispatch relays datagram i of the arena if its channel is known, else queues it for pion.
func (l *Loop) dispatch(c *Conn, i int) {
	m := &l.in.msgs[i]
	b := l.in.bufs[i][:m.len]
	from := addrPortOf(&l.in.names[i])
	if c.behind.Load() > 0 {
		// pion still has older datagrams of this socket: this one waits its turn behind them
	} else if c == l.listener {
		if number, payload, ok := channelData(b); ok {
			if r, ok := l.toPeer[channelKey{from, number}]; ok && !r.hairpin {
				l.c2p.add(r.relay, &r.name, nil, payload, nil)
				return
			} else if ok && l.handOver(r, payload) {
				return
			}
		}
	} else if r, ok := l.toClient[peerKey{c.id, from}]; ok {
		l.toClientAdd(&r, b)
		return
	}
	if !c.offer(b, from) {
		l.dropped.Add(1) // not while the loop is the only sender
	}
}

// toClientAdd queues payload for the client of r as ChannelData, padded as pion pads it.
func (l *Loop) toClientAdd(r *toClientRoute, payload []byte) {
	s := &l.l2c
	head := &s.heads[s.n]
	binary.BigEndian.PutUint16(head[0:], r.number)
	binary.BigEndian.PutUint16(head[2:], uint16(len(payload)))
	s.add(l.listener, &r.name, head[:], payload, zeros[:(4-len(payload)%4)%4])
}

// handOver delivers a hairpin channel's payload to the other allocation's client as if its relay
// socket had read it from r's relayed address, when that allocation has a channel back and no
// older datagram waits there: neither for pion nor unread in the socket, where pion's earlier
// sends of this channel went through the kernel. It reports false to leave the datagram to pion.
func (l *Loop) handOver(r toPeerRoute, payload []byte) bool {
	to := l.relays[r.peer]
	if to == nil || to.behind.Load() > 0 || to.unread() {
		return false
	}
	back, ok := l.toClient[peerKey{to.id, r.relay.relayed}]
	if !ok {
		return false
	}
	l.toPeers.Add(1) // what r's relay socket would have sent; the send below counts the receipt
	l.bytesToPeers.Add(uint64(len(payload)))
	l.toClientAdd(&back, payload)
	return true
}

// add appends one datagram: head, payload and pad as one message to name through c.
func (s *sendList) add(c *Conn, name *sockaddr, head, payload, pad []byte) {
	i := s.n
	s.n++
	s.to[i], s.names[i], s.sizes[i] = c, *name, len(payload)
	iov, k := &s.iovs[i], 0
	for _, part := range [][]byte{head, payload, pad} {
		if len(part) > 0 {
			iov[k].Base = &part[0]
			iov[k].SetLen(len(part))
			k++
		}
	}
	s.msgs[i].hdr.SetIovlen(k)
	s.msgs[i].hdr.Namelen = s.names[i].len
}

// flush sends what the last reads relayed, each run to one socket in one sendmmsg, and frees the arena.
func (l *Loop) flush() {
	l.send(&l.c2p, &l.toPeers, &l.bytesToPeers)
	l.send(&l.l2c, &l.fromPeers, &l.bytesFromPeers)
	l.in.used = 0
}

func (l *Loop) send(s *sendList, packets, bytes *atomic.Uint64) {
	var sent, size uint64
	for i := 0; i < s.n; {
		c, j := s.to[i], i+1
		for j < s.n && s.to[j] == c {
			j++
		}
		c.mu.RLock()
		for i < j && !c.closed {
			n, err := mmsg(unix.SYS_SENDMMSG, c.fd, s.msgs[i:j])
			if err == unix.EAGAIN || err == nil && n == 0 {
				break // the socket's buffer is full: the rest is lost, as a datagram may be
			}
			if err != nil {
				n = 1 // the kernel refused the first one (no route, say): skip it
				l.dropped.Add(1)
			} else {
				sent += uint64(n)
				for _, size1 := range s.sizes[i : i+n] {
					size += uint64(size1)
				}
			}
			i += n
		}
		c.mu.RUnlock()
		l.dropped.Add(uint64(j - i))
		i = j
	}
	s.n = 0
	packets.Add(sent)
	bytes.Add(size)
}

// mmsg is recvmmsg or sendmmsg on fd without waiting. The sockets are non-blocking and the loop
// waits only in Go's poller, so these calls and the others on the hot path go in as raw system
// calls: the runtime's bookkeeping for a call that may block woke its monitor thread on every
// burst, which at a browser call's rate cost more than the relaying.
func mmsg(trap uintptr, fd int, msgs []mmsghdr) (int, error) {
	if len(msgs) == 0 {
		return 0, nil
	}
	n, _, errno := unix.RawSyscall6(trap, uintptr(fd), uintptr(unsafe.Pointer(&msgs[0])), uintptr(len(msgs)), unix.MSG_DONTWAIT, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// epollPoll is epoll_wait without waiting (a zero timeout), as a raw system call (see mmsg).
func epollPoll(epfd int, events []unix.EpollEvent) (int, error) {
	n, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// channelData returns the number and payload of a ChannelData message (RFC 8656, section 12.4);
// padding after the payload is allowed.
func channelData(b []byte) (uint16, []byte, bool) {
	if len(b) < 4 || b[0]&0xC0 != 0x40 {
		return 0, nil, false
	}
	n := int(binary.BigEndian.Uint16(b[2:]))
	if 4+n > len(b) {
		return 0, nil, false
	}
	return binary.BigEndian.Uint16(b), b[4 : 4+n], true
}

// addrPortOf reads a source address the kernel wrote, IPv4-mapped ones unmapped.
func addrPortOf(sa *unix.RawSockaddrInet6) netip.AddrPort {
	port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:])
	if sa.Family == unix.AF_INET {
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), port)
	}
	return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), port)
}

func unmap(ap netip.AddrPort) netip.AddrPort { return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()) }

// sockaddrOf encodes ap for a socket of the given family; an IPv6 address cannot go out of an
// IPv4 socket.
func sockaddrOf(ap netip.AddrPort, v6 bool) (sockaddr, bool) {
	var s sockaddr
	a := ap.Addr().Unmap()
	binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&s.raw.Port))[:], ap.Port())
	switch {
	case v6:
		s.raw.Family, s.raw.Addr, s.len = unix.AF_INET6, a.As16(), unix.SizeofSockaddrInet6
	case a.Is4():
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(&s.raw))
		sa4.Family, sa4.Addr, s.len = unix.AF_INET, a.As4(), unix.SizeofSockaddrInet4
	default:
		return s, false
	}
	return s, true
}
