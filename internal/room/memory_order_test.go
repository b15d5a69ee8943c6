package room

import (
	"encoding/json"
	"testing"
	"time"
)

// TestDeliveriesInOrder: a room's change is handed back only once the room's previous delivery is
// done, so a member never hears of two changes out of order; other rooms do not wait.
func TestDeliveriesInOrder(t *testing.T) {
	offer := json.RawMessage(`{"type":"offer"}`)
	leave := func(h Hub) Delivery { d, _ := h.Leave("r", "b"); return d }
	relay := func(h Hub) Delivery { d, _ := h.Relay("r", "a", offer); return d }
	tests := []struct {
		name        string
		first, next func(h Hub) Delivery
		waits       bool
	}{
		{"a joiner after a bye", leave, func(h Hub) Delivery { d, _ := h.Join("r", "c", "", "c.k"); return d }, true},
		{"a disconnect after a bye", leave, func(h Hub) Delivery { return h.Disconnect("a") }, true},
		{"a leave after a relay to the leaver", relay, leave, true},
		{"another room", leave, func(h Hub) Delivery { d, _ := h.Join("other", "c", "", "c.k"); return d }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := NewMemoryHub()
			for _, m := range []Member{"a", "b"} {
				d, err := h.Join("r", m, "", string(m)+".k")
				if err != nil {
					t.Fatal(err)
				}
				d.Done()
			}
			first := tc.first(h) // delivered below, after the next change was made
			if len(first.Outcomes) != 1 {
				t.Fatalf("first change: %+v", first.Outcomes)
			}
			next := make(chan Delivery, 1)
			go func() { next <- tc.next(h) }()
			if tc.waits {
				select {
				case d := <-next:
					t.Fatalf("%+v handed back before the first change was delivered", d.Outcomes)
				case <-time.After(50 * time.Millisecond):
				}
			}
			first.Done()
			select {
			case d := <-next:
				if len(d.Outcomes) != 1 {
					t.Fatalf("next change: %+v", d.Outcomes)
				}
				d.Done()
			case <-time.After(5 * time.Second):
				t.Fatal("the next change never came back")
			}
		})
	}
}
