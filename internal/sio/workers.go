package sio

import (
	"net"
	"runtime"
	"sync/atomic"
)

// workers runs the short jobs of connections, reading what arrived and writing what is queued, on
// goroutines kept between jobs, a few of them idle at most and none once a whole tick of the
// heartbeat wheel went by without a job: a fresh goroutine per job would grow its stack through TLS
// again every time (runtime.newstack was a tenth of an idle server's CPU).
type workers struct {
	jobs    chan job // unbuffered: a send succeeds only when an idle worker takes it
	idle    atomic.Int32
	maxIdle int32
	ran     atomic.Bool // a job ran since the last trim
	stop    chan struct{}
}

// job is one connection's turn: read (the poller saw bytes) or write (its queue holds some); the
// zero job tells an idle worker to end.
type job struct {
	c     *Socket
	conn  net.Conn
	write bool
}

func newWorkers() *workers {
	return &workers{jobs: make(chan job), maxIdle: int32(4 * runtime.GOMAXPROCS(0)), stop: make(chan struct{})}
}

// run hands j to an idle worker, or to a new one when none is idle.
func (w *workers) run(j job) {
	w.ran.Store(true)
	select {
	case w.jobs <- j:
	default:
		go w.loop(j)
	}
}

func (w *workers) loop(j job) {
	for {
		if j.write {
			j.c.write(j.conn)
		} else {
			j.c.readReady(j.conn, nil)
		}
		if w.idle.Add(1) > w.maxIdle {
			w.idle.Add(-1)
			return
		}
		select {
		case j = <-w.jobs:
			w.idle.Add(-1)
			if j.c == nil {
				return
			}
		case <-w.stop:
			return
		}
	}
}

// trim ends the idle workers when no job ran since the last trim.
func (w *workers) trim() {
	if w.ran.Swap(false) {
		return
	}
	for w.idle.Load() > 0 {
		select {
		case w.jobs <- job{}:
		default:
			return
		}
	}
}

// close lets the idle workers go; the busy ones end with their job.
func (w *workers) close() { close(w.stop) }
