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
	bob := newPage(t, b, "bob on node two")
	bob.join(two.roomURL(room, nil))
	bob.waitState("joined_conn")
	alice.waitState("joined_conn")
	alice.waitMediaFlowing()
	bob.waitMediaFlowing()

	bob.close()
	waitUnbound(alice)

	carol := newPage(t, b, "carol on node two, relay only")
	carol.join(two.roomURL(room, url.Values{"relay": {"1"}}))
	carol.waitState("joined_conn")
	alice.waitState("joined_conn")
	alice.waitMediaFlowing()
	carol.waitMediaFlowing()
	if st := carol.stats(); st.LocalType != "relay" {
		t.Errorf("carol's selected candidate is %s, want relay (node two's TURN)", st.LocalType)
	}
}
