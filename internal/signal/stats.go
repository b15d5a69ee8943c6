package signal

import (
	"maps"
	"sync"
	"sync/atomic"

	"duet/internal/room"
)

// Stats is a snapshot of what the signaling server did since it started.
type Stats struct {
	Connected int64                  // sockets connected now
	Rooms     [room.Capacity + 1]int // Rooms[n]: rooms holding n people now
	Joins     uint64                 // successful joins
	Fulls     uint64                 // joins refused because the room was full
	Byes      uint64                 // byes sent (a peer left or disconnected)
	Relayed   uint64                 // messages relayed to a peer
	Refused   uint64                 // events answered with an error
	RefusedBy map[string]uint64      // the same by refusal code (docs/protocol.md)
	Limited   uint64                 // events or connections over the per-IP limits
}

// counters are the live atomics behind Stats.
type counters struct {
	connected                                     atomic.Int64
	joins, fulls, byes, relayed, refused, limited atomic.Uint64

	mu     sync.Mutex
	byCode map[string]uint64 // keyed by the server's own refusal codes: a bounded set
}

func (c *counters) refuse(code string) {
	c.refused.Add(1)
	c.mu.Lock()
	if c.byCode == nil {
		c.byCode = map[string]uint64{}
	}
	c.byCode[code]++
	c.mu.Unlock()
}

func (c *counters) refusedBy() map[string]uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.byCode)
}

// Stats returns the current counters and room occupancy.
func (s *Server) Stats() Stats {
	return Stats{
		Connected: s.counters.connected.Load(),
		Rooms:     s.hub.Occupancy(),
		Joins:     s.counters.joins.Load(),
		Fulls:     s.counters.fulls.Load(),
		Byes:      s.counters.byes.Load(),
		Relayed:   s.counters.relayed.Load(),
		Refused:   s.counters.refused.Load(),
		RefusedBy: s.counters.refusedBy(),
		Limited:   s.counters.limited.Load(),
	}
}
