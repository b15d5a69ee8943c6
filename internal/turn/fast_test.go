package turn

import (
	"errors"
	"net"
	"os"
	"runtime"
	"testing"
	"time"
)

// A channel its client stops refreshing expires: it leaves the fast path (channelDeleted, which
// also takes it out of the kernel's maps), and its data no longer reaches the peer: pion has no
// channel for it any more.
func TestChannelExpiry(t *testing.T) {
	cfg := testConfig()
	cfg.ChannelLifetime = 2 * time.Second // pion's client refreshes after minutes
	s := startServer(t, cfg)
	u, p := creds("erin")
	relayToPeer(t, newClient(t, s, "udp", u, p), 'E', 'e', func(relay, peer net.PacketConn) {
		fast := 0
		if s.cfg.Batch == ModeAuto && runtime.GOOS == "linux" {
			fast = 1
		}
		if got := s.Stats().FastChannels; got != fast {
			t.Fatalf("%d channels on the fast path while bound, want %d", got, fast)
		}
		waitFor(t, "the channel to leave the fast path", func() bool { return s.Stats().FastChannels == 0 })
		time.Sleep(cfg.ChannelLifetime + time.Second) // without the fast path nothing above waited for the expiry

		if _, err := relay.WriteTo([]byte("after expiry"), peer.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		_ = peer.SetReadDeadline(time.Now().Add(time.Second))
		if n, _, err := peer.ReadFrom(make([]byte, 100)); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("the peer read %d bytes (%v) after the channel expired", n, err)
		}
	})
}
