package signal

import "sync/atomic"

// Stats counts what the signaling server did since it started.
type Stats struct {
	Connected, Joins, Fulls, Byes, Relayed, Refused atomic.Int64
}
