package web_test

import (
	"net/url"
	"testing"

	"duet/internal/duettest"
)

// TestCallAcrossNodes puts the two pages of a call on two duet nodes sharing rooms through Redis:
// the call comes up, a closed tab reaches the other node as bye, and a newcomer on the second node
// forced through that node's own relay brings the call back.
func TestCallAcrossNodes(t *testing.T) {
	redis := duettest.StartRedis(t)
	one := startServer(t, "--redis-url", redis.URL())
	two := startServer(t, "--redis-url", redis.URL())
	room := newRoom(t)

	b := newBrowser(t)
	alice := newPage(t, b, "alice on node one")
	alice.join(one.roomURL(room, nil))
	alice.waitState("joined")
	bob := alice.joinedBy(b, "bob on node two", two.roomURL(room, nil))

	bob.close()
	waitUnbound(alice)

	carol := alice.joinedBy(b, "carol on node two, relay only", two.roomURL(room, url.Values{"relay": {"1"}}))
	if st := carol.stats(); st.LocalType != "relay" {
		t.Errorf("carol's selected candidate is %s, want relay (node two's TURN)", st.LocalType)
	}
}
