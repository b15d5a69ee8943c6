package room

import (
	"encoding/json"
	"strconv"
	"sync/atomic"
	"testing"
)

// BenchmarkMemoryHubRelay relays in parallel, each goroutine in its own of 1 000 full rooms: the path
// of every signaling message on a single node.
func BenchmarkMemoryHubRelay(b *testing.B) {
	h, _ := NewMemoryHub()
	const rooms = 1000
	for i := range rooms {
		name := "r" + strconv.Itoa(i)
		for _, m := range []Member{Member(name + "a"), Member(name + "b")} {
			d, err := h.Join(name, m, "", string(m)+".k")
			if err != nil {
				b.Fatal(err)
			}
			d.Done()
		}
	}
	data := json.RawMessage(`{"type":"candidate","candidate":"candidate:1 1 udp 1 192.0.2.10 5 typ host"}`)
	var next atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		name := "r" + strconv.Itoa(int(next.Add(1))%rooms)
		from := Member(name + "a")
		for pb.Next() {
			d, err := h.Relay(name, from, data)
			if err != nil || len(d.Outcomes) != 1 {
				b.Fatal(d, err)
			}
			d.Done()
		}
	})
}
