package web_test

import (
	"fmt"
	"net/url"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"duet/internal/duettest"
)

// coturn runs coturn's own turnserver on loopback, sharing duet's REST secret, so a test can take the
// relay away while signaling stays up.
type coturn struct {
	t    *testing.T
	port int
	cmd  *exec.Cmd
	logs *duettest.LogBuffer
}

func startCoturn(t *testing.T, port int, secret string) *coturn {
	t.Helper()
	bin, err := exec.LookPath("turnserver")
	if err != nil {
		t.Fatal("coturn's turnserver is required (apt-get install coturn; make test does)")
	}
	c := &coturn{t: t, port: port, logs: &duettest.LogBuffer{}}
	c.cmd = exec.Command(bin, "-n", "--no-cli", "--no-tls", "--no-dtls", "--log-file=stdout", "--simple-log",
		"--listening-ip=127.0.0.1", fmt.Sprintf("--listening-port=%d", port), "--relay-ip=127.0.0.1",
		"--use-auth-secret", "--static-auth-secret="+secret, "--realm=duet", "--allow-loopback-peers",
		"--min-port=40000", "--max-port=40999", "--pidfile="+filepath.Join(t.TempDir(), "turnserver.pid"))
	c.cmd.Stdout, c.cmd.Stderr = c.logs, c.logs
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.kill)
	return c
}

func (c *coturn) kill() {
	if c.cmd.ProcessState == nil {
		_ = c.cmd.Process.Signal(syscall.SIGKILL)
		_ = c.cmd.Wait()
	}
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

	relay.kill()
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
