package sio

import (
	"net"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// poller watches idle websockets with one epoll instance, so an idle connection parks no goroutine:
// a worker reads a connection only from the moment bytes arrive until its buffers are empty. Each
// registration is one-shot, armed again by the worker when it is done, so one worker at most reads a
// connection. The fd stays Go's (its deadlines and Close work as usual); epoll only watches it. The
// epoll fd itself waits in Go's netpoller like any socket: no thread blocks in epoll_wait.
type poller struct {
	epfd int
	file *os.File // the epoll fd, registered with Go's netpoller
	done chan struct{}

	mu    sync.Mutex
	conns map[uint64]*Socket // by registration key, never reused: an event for a closed socket finds nothing
	next  uint64
}

func newPoller(work *workers) (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	if err := unix.SetNonblock(epfd, true); err != nil { // so os.NewFile makes it pollable
		_ = unix.Close(epfd)
		return nil, err
	}
	file := os.NewFile(uintptr(epfd), "epoll")
	raw, err := file.SyscallConn()
	if err != nil {
		_ = file.Close()
		return nil, err
	}
	p := &poller{epfd: epfd, file: file, done: make(chan struct{}), conns: map[uint64]*Socket{}, next: 1}
	go p.run(raw, work)
	return p, nil
}

// run hands every connection that became readable to a worker, and waits in Go's netpoller for the
// epoll fd to have events again; it ends when close closes that fd.
func (p *poller) run(raw syscall.RawConn, work *workers) {
	defer close(p.done)
	events := make([]unix.EpollEvent, 256)
	_ = raw.Read(func(fd uintptr) bool {
		for {
			n, err := unix.EpollWait(int(fd), events, 0)
			switch {
			case err == unix.EINTR:
				continue
			case err != nil:
				return true
			case n == 0:
				return false
			}
			for _, ev := range events[:n] {
				p.mu.Lock()
				c := p.conns[eventKey(ev)]
				var conn net.Conn
				if c != nil {
					conn = c.epoll.conn
				}
				p.mu.Unlock()
				if c != nil {
					work.run(job{c: c, conn: conn})
				}
			}
		}
	})
}

// close ends run; every socket is closed already, so nothing touches epfd afterwards.
func (p *poller) close() {
	_ = p.file.Close()
	<-p.done
}

// pollState is what the poller keeps on a socket; guarded by poller.mu.
type pollState struct {
	conn    net.Conn
	raw     syscall.RawConn
	key     uint64
	removed bool
}

// add registers c's connection, not armed yet: its reader arms it once it has read what is there.
func (p *poller) add(c *Socket, conn net.Conn) error {
	sc, ok := netConn(conn).(syscall.Conn)
	if !ok {
		return errNoFD
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if c.epoll.removed {
		return net.ErrClosed
	}
	key := p.next
	p.next++
	if err := p.ctl(raw, unix.EPOLL_CTL_ADD, key, 0); err != nil {
		return err
	}
	c.epoll.conn, c.epoll.raw, c.epoll.key = conn, raw, key
	p.conns[key] = c
	return nil
}

// rearm watches c again once its reader found nothing more to read; data that arrived meanwhile
// makes the event fire at once.
func (p *poller) rearm(c *Socket) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c.epoll.removed {
		return net.ErrClosed
	}
	return p.ctl(c.epoll.raw, unix.EPOLL_CTL_MOD, c.epoll.key, unix.EPOLLIN|unix.EPOLLRDHUP)
}

// remove stops watching c; called before its connection is closed, so the fd is still c's.
func (p *poller) remove(c *Socket) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c.epoll.removed = true
	if c.epoll.key == 0 {
		return
	}
	delete(p.conns, c.epoll.key)
	_ = c.epoll.raw.Control(func(fd uintptr) { _ = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, int(fd), nil) })
	c.epoll = pollState{removed: true}
}

// ctl runs one epoll_ctl on the connection's fd, which Control keeps open meanwhile; without events
// the registration stays disarmed (a one-shot registration reports nothing, not even a hang-up).
func (p *poller) ctl(raw syscall.RawConn, op int, key uint64, events uint32) error {
	ev := unix.EpollEvent{Events: events | unix.EPOLLONESHOT}
	setEventKey(&ev, key)
	var err error
	if cerr := raw.Control(func(fd uintptr) { err = unix.EpollCtl(p.epfd, op, int(fd), &ev) }); cerr != nil {
		return cerr
	}
	return err
}

// The event's 64 bits of user data carry the registration key.
func setEventKey(ev *unix.EpollEvent, key uint64) {
	ev.Fd, ev.Pad = int32(uint32(key)), int32(uint32(key>>32))
}

func eventKey(ev unix.EpollEvent) uint64 {
	return uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
}
