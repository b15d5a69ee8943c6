package signal

import (
	"encoding/json"
	"testing"

	"duet/internal/room"
	"duet/internal/siotest"
)

// evictingHub loses a member of room "evict-me" when it next sends a message, as a shared store does
// when it lost its data and the seat was taken meanwhile.
type evictingHub struct{ room.Hub }

func (h evictingHub) Relay(name string, from room.Member, data json.RawMessage) (room.Delivery, error) {
	if name == "evict-me" {
		return room.Delivery{Outcomes: []room.Outcome{{Kind: room.Evicted, Room: name, Member: from}}}, nil
	}
	return h.Hub.Relay(name, from, data)
}

// TestEvictedMemberReconnects checks an evicted member's connection is closed in the way that makes
// socket.io-client reconnect by itself ("transport close"), so the page joins again.
func TestEvictedMemberReconnects(t *testing.T) {
	_, url := startServer(t, func(c *Config) {
		c.Hub = func() (room.Hub, error) {
			h, err := room.NewMemoryHub()
			return evictingHub{Hub: h}, err
		}
	})
	siotest.Run(t, url, 4, []string{"websocket"},
		siotest.Connect("a"), siotest.Connect("b"),
		siotest.Emit("a", "join", "evict-me"),
		siotest.Expect("a", "joined", "evict-me", "$a"),
		siotest.Emit("a", "message", "evict-me", json.RawMessage(`{"type":"offer","sdp":""}`)),
		siotest.Expect("a", "disconnect", "transport close"),
		siotest.Emit("b", "join", "kept"),
		siotest.Expect("b", "joined", "kept", "$b"),
		siotest.Quiet("b"),
	)
}
