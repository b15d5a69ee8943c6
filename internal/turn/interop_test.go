package turn

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// uclientPath is coturn's test client (Debian package "coturn"); make test installs it.
const uclientPath = "turnutils_uclient"

var (
	uclientTotals = regexp.MustCompile(`start_mclient: tot_send_msgs=(\d+), tot_recv_msgs=(\d+)`)
	uclientLost   = regexp.MustCompile(`Total lost packets (\d+) \(.*total send dropped (\d+)`)
)

// TestCoturnClient drives the embedded server with coturn's own client over UDP and TCP,
// with the credentials GET /api/ice-servers would hand a browser, and with coturn
// computing REST credentials itself from the secret (-W) as an independent HMAC check.
func TestCoturnClient(t *testing.T) {
	bin, err := exec.LookPath(uclientPath)
	if err != nil {
		t.Fatalf("%s not found (%v): install the Debian/Ubuntu package \"coturn\" (apt-get install coturn); this interop test does not skip", uclientPath, err)
	}
	// Sequential and modest on purpose: on a loaded CI box (and under -race) coturn counts
	// packets still queued when it stops waiting as lost.
	const clients, messages = 2, 200
	for _, tt := range []struct {
		name string
		rest bool // let uclient derive the password from the secret
		tcp  bool
	}{
		{"udp", false, false},
		{"tcp", false, true},
		{"udp-secret", true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, testConfig())
			udpAddr, _ := s.Addr()
			port := strconv.Itoa(udpAddr.(*net.UDPAddr).Port)
			cfg := testConfig()
			cfg.Listen = net.JoinHostPort("127.0.0.1", port)
			ice := cfg.ICEServers("127.0.0.1", "uclient", time.Now())
			turnEntry := ice.ICEServers[len(ice.ICEServers)-1]

			args := []string{"-y", "-m", strconv.Itoa(clients), "-n", strconv.Itoa(messages), "-l", "200", "-z", "5", "-p", port}
			if tt.rest {
				args = append(args, "-u", "uclient", "-W", string(testSecret))
			} else {
				args = append(args, "-u", turnEntry.Username, "-w", turnEntry.Credential)
			}
			if tt.tcp {
				args = append(args, "-t")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, bin, append(args, "127.0.0.1")...).CombinedOutput()
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				t.Fatalf("%s timed out; output:\n%s", bin, out)
			}
			if err != nil {
				t.Fatalf("%s failed: %v; output:\n%s", bin, err, out)
			}

			tot, lost := uclientTotals.FindSubmatch(out), uclientLost.FindSubmatch(out)
			if tot == nil || lost == nil {
				t.Fatalf("no summary in uclient output:\n%s", out)
			}
			sent, _ := strconv.Atoi(string(tot[1]))
			recv, _ := strconv.Atoi(string(tot[2]))
			if sent < clients*messages || recv != sent || string(lost[1]) != "0" || string(lost[2]) != "0" {
				t.Fatalf("sent %d, received %d, lost %s, send dropped %s; want >= %d sent, all received, 0 lost; output:\n%s",
					sent, recv, lost[1], lost[2], clients*messages, out)
			}
			if st := s.Stats(); st.PacketsToPeers < uint64(sent) || st.AllocationsTotal == 0 {
				t.Errorf("server stats %+v do not show %d relayed packets", st, sent)
			}
		})
	}
}
