package web_test

import (
	"fmt"
	"net/url"
	"testing"

	"duet/internal/duettest"
)

// startCoturn runs coturn's own turnserver on loopback, sharing duet's REST secret, so a test can
// take the relay away while signaling stays up; it is killed when the test ends.
func startCoturn(t *testing.T, port int, secret string) *duettest.Process {
	t.Helper()
	p, err := duettest.LaunchCoturn(duettest.Coturn{Port: port, MinPort: 40000, MaxPort: 40999, Secret: secret, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Kill)
	return p
}

// TestICERestartAfterRelayLoss takes the relay away mid-call and brings it back: the offerer notices
// the broken connection and restarts ICE, and media flows again without anyone clicking.
func TestICERestartAfterRelayLoss(t *testing.T) {
	turnPort := duettest.FreeTURNPort(t)
	relay := startCoturn(t, turnPort, "e2e-secret")
	s := startServer(t, "--turn-listen", "", "--turn-urls", fmt.Sprintf("turn:127.0.0.1:%d?transport=udp", turnPort))
	alice, bob := callOf(t, s, newRoom(t), url.Values{"relay": {"1"}})
	const ufrag = `window.duet.pc().localDescription.sdp.match(/a=ice-ufrag:(\S+)/)[1]`
	pc, before := evalJS[bool](alice, `window.__pc = window.duet.pc(); true`), evalJS[string](alice, ufrag)

	relay.Kill()
	alice.waitFor("the offerer to see the connection break", `['disconnected', 'failed'].includes(window.duet.pc().connectionState)`)
	relay = startCoturn(t, turnPort, "e2e-secret")
	for _, p := range []*tab{alice, bob} {
		p.waitFor("the connection to come back", `window.duet.pc().connectionState === 'connected'`)
		p.waitMediaFlowing()
	}
	// The same RTCPeerConnection with new ICE credentials: an ICE restart, not a new call.
	if same := evalJS[bool](alice, `window.__pc === window.duet.pc()`); !pc || !same {
		t.Error("the call was replaced instead of restarted")
	}
	if after := evalJS[string](alice, ufrag); after == before {
		t.Errorf("ICE username fragment unchanged (%s): no ICE restart", after)
	}
}
