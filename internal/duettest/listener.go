package duettest

import (
	"net"
	"sync"
	"syscall"
)

// FailingListener fails its first N accepts with EMFILE, as when the process is out of descriptors,
// then accepts from the Listener it wraps.
type FailingListener struct {
	net.Listener
	mu sync.Mutex
	N  int
}

func (l *FailingListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	fail := l.N > 0
	l.N--
	l.mu.Unlock()
	if fail {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE}
	}
	return l.Listener.Accept()
}
