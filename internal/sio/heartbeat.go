package sio

import (
	"sync"
	"sync/atomic"
	"time"
)

// wheel runs every socket's heartbeat from one goroutine and one ticker, and lets idle workers go.
// A socket waits in the slot of the tick its heartbeat falls due; a sign of life only moves its due
// tick forward, and the wheel moves the socket when its old slot comes round, so a pong costs a
// store, not a timer operation. A closed socket leaves at its slot (its connection was let go of at
// close).
type wheel struct {
	work   *workers
	tick   time.Duration
	now    atomic.Int64 // ticks since the start
	ticker *time.Ticker
	stop   chan struct{}
	done   chan struct{}

	mu    sync.Mutex
	slots [][]*Socket // slot i holds sockets due at a tick ≡ i modulo len(slots)
	spare []*Socket   // the last slot walked, kept for its capacity
}

// ticksPerTimeout sets the wheel's resolution: a tick is min(PingInterval, PingTimeout)/ticksPerTimeout,
// and a heartbeat acts at most two ticks late.
const ticksPerTimeout = 20

func newWheel(cfg Config, work *workers) *wheel {
	tick := min(cfg.PingInterval, cfg.PingTimeout) / ticksPerTimeout
	longest := cfg.PingInterval + cfg.PingTimeout
	w := &wheel{work: work, tick: tick, ticker: time.NewTicker(tick), stop: make(chan struct{}), done: make(chan struct{}),
		slots: make([][]*Socket, int(longest/tick)+3)}
	go w.run()
	return w
}

// after is the tick at which d will have passed for certain, the current tick having come up to a
// tick ago.
func (w *wheel) after(d time.Duration) int64 { return w.from(w.now.Load(), d) + 1 }

// from is the tick at which d will have passed from the moment tick now came: for the wheel's own
// goroutine, which runs just then.
func (w *wheel) from(now int64, d time.Duration) int64 { return now + int64((d+w.tick-1)/w.tick) }

// add puts c in the slot of its due tick.
func (w *wheel) add(c *Socket, due int64) {
	w.mu.Lock()
	i := due % int64(len(w.slots))
	w.slots[i] = append(w.slots[i], c)
	w.mu.Unlock()
}

func (w *wheel) run() {
	defer close(w.done)
	for {
		select {
		case <-w.stop:
			w.ticker.Stop()
			return
		case <-w.ticker.C:
		}
		w.work.trim()
		now := w.now.Add(1)
		w.mu.Lock()
		i := now % int64(len(w.slots))
		due := w.slots[i]
		w.slots[i], w.spare = w.spare[:0], nil
		w.mu.Unlock()
		for j, c := range due {
			if next, keep := c.beat(now); keep {
				w.add(c, next)
			}
			due[j] = nil
		}
		w.mu.Lock()
		w.spare = due[:0]
		w.mu.Unlock()
	}
}

// close stops the wheel; every socket is closed already.
func (w *wheel) close() {
	close(w.stop)
	<-w.done
}
