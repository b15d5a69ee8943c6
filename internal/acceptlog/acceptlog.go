// Package acceptlog reports failed accepts (mostly: out of file descriptors) at warn level, at most
// once a second with how many failed since, so an operator sees them without a line per failure.
package acceptlog

import (
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"
)

// every is the most often a warning is written.
const every = time.Second

// Reporter warns about failed accepts on one listener.
type Reporter struct {
	log  *slog.Logger
	what string           // names the listener in the warning
	now  func() time.Time // time.Now; tests fix it

	mu   sync.Mutex
	last time.Time
	held int // failures since the last warning
}

// New returns a Reporter writing to log about the listener called what.
func New(log *slog.Logger, what string) *Reporter {
	return &Reporter{log: log, what: what, now: time.Now}
}

// Failed records a failed accept; it warns unless it warned less than a second ago.
func (r *Reporter) Failed(err error) {
	if held, ok := r.allow(r.now()); ok {
		r.log.Warn("accepting a connection failed; retrying", "listener", r.what, "err", err, "failures", held+1)
	}
}

// allow lets one failure through per second and counts those it held back in between.
func (r *Reporter) allow(now time.Time) (held int, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.last.IsZero() && now.Sub(r.last) < every {
		r.held++
		return 0, false
	}
	held, r.held, r.last = r.held, 0, now
	return held, true
}

// Listener reports its failed accepts and returns them unchanged (net/http retries them itself).
type Listener struct {
	net.Listener
	R *Reporter
}

func (l Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		l.R.Failed(err)
	}
	return c, err
}
