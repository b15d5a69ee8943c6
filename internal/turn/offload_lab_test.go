package turn

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/turn/v5"

	"duet/internal/duettest"
	"duet/internal/netlab"
	"duet/internal/pionlog"
)

const (
	labSecret  = "lab-secret"
	labToken   = "lab-metrics-token"
	labPackets = 200
	// lookalikes bounds the datagrams per direction the program leaves to pion although it has their
	// channel: a genuine UDP checksum equal to the pseudo header's sum looks like a partial one (one
	// in 65 536 datagrams).
	lookalikes     = 2
	refusedOffload = "kernel offload refused"
)

// Capabilities a process needs to load and attach XDP; the refusal case runs duet without them.
const dropBPFCaps = "--bounding-set=-bpf,-net_admin,-sys_admin,-perfmon"

// TestOffloadLab runs the duet binary in the network lab (internal/netlab), a TURN client in one home
// and its peer in another, so packets cross veth devices where XDP sees them. With the kernel relay
// the channel's data moves byte for byte both ways while the user-space counters stay still; a
// stranger gets nothing through; the channel's map entries go with the allocation. Refused (duet
// without CAP_BPF and CAP_NET_ADMIN) it logs one line and the user-space relay carries the same data.
func TestOffloadLab(t *testing.T) {
	bin := duettest.Binary(t)
	eim := netlab.Home{NAT: netlab.EndpointIndependent}
	homes := []netlab.Home{eim, eim, eim} // the client's, the peer's, a stranger's
	for _, tc := range []struct {
		name    string
		lab     netlab.Config
		refused bool
	}{
		{"kernel relays bound channels", netlab.Config{Homes: homes}, false},
		{"kernel relays behind a cloud NAT", netlab.Config{CloudNAT: true, Homes: homes}, false},
		{"refused without CAP_BPF, user space relays", netlab.Config{Homes: homes}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lab := netlab.New(t, tc.lab)
			softwareChecksums(t, lab)
			args := []string{"--turn-secret", labSecret, "--metrics-token", labToken, "--log-level", "debug"}
			var d *duettest.Duet
			if tc.refused {
				d = startDuetWithout(t, lab, bin, args...)
			} else {
				d = lab.StartDuet(t, bin, args...)
			}
			offloadLab(t, lab, d, tc.refused)
		})
	}
}

// startDuetWithout is lab.StartDuet with the BPF capabilities dropped: a real refusal by the kernel.
func startDuetWithout(t *testing.T, lab *netlab.Lab, bin string, extra ...string) *duettest.Duet {
	args := append([]string{"netns", "exec", lab.Public.Name, "setpriv", dropBPFCaps, "--", bin,
		"--listen", netip.AddrPortFrom(lab.Public.Addr, netlab.DuetPort).String(),
		"--turn-listen", netip.AddrPortFrom(lab.Public.Addr, netlab.TURNPort).String(),
		"--public-ip", lab.PublicIP.String(),
		"--turn-allow-peer", lab.Range,
	}, extra...)
	return duettest.Start(t, "ip", args...)
}

func offloadLab(t *testing.T, lab *netlab.Lab, d *duettest.Duet, refused bool) {
	m := metricsReader{t: t, url: d.URL + "/metrics", client: nsClient(lab.Homes[0])}
	server := netip.AddrPortFrom(lab.PublicIP, netlab.TURNPort)

	// The client in home 1, its allocation; the peer in home 2 and a stranger in home 3, behind their routers.
	c, relay := labClient(t, lab, 0, server)
	defer c.Close()
	peer, stranger := labSocket(t, lab, 1), labSocket(t, lab, 2)
	defer peer.Close()
	defer stranger.Close()
	peerAddr, strangerAddr := labPublic(lab, 1, peer), labPublic(lab, 2, stranger)
	relayAddr := relay.LocalAddr()

	// Both sides talk until the channel is bound and, with the kernel relay, both ways run through it
	// (its first packets teach the program where client and peer are).
	buf := make([]byte, 2*relaySize)
	var seen string // for the failure message
	warm := func() bool {
		_, _ = peer.WriteTo([]byte("peer hello"), relayAddr) // opens home 2's NAT toward the relay
		_, _ = relay.WriteTo([]byte("client hello"), peerAddr)
		_ = peer.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		_, _, errP := peer.ReadFrom(buf)
		_ = relay.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		_, _, errC := relay.ReadFrom(buf)
		seen = fmt.Sprintf("peer read: %v, client read: %v, channels %v, kernel relayed %v", errP, errC,
			m.get("duet_turn_offload_channels"), m.page().minus(relayCounts{}, "offload"))
		if errP != nil || errC != nil || m.get("duet_turn_offload_channels") != boolFloat(!refused) {
			return false
		}
		return refused || m.get(`duet_turn_offload_packets_total{direction="to_peer"}`) > 0 && m.get(`duet_turn_offload_packets_total{direction="from_peer"}`) > 0
	}
	for deadline := time.Now().Add(20 * time.Second); !warm(); {
		if time.Now().After(deadline) {
			t.Fatalf("the channel did not carry data both ways: %s", seen)
		}
	}
	drain(relay, buf)
	drain(peer, buf)

	before := m.page()
	labStream(t, 'c', relay, peerAddr, peer, relayAddr)
	labStream(t, 'p', peer, relayAddr, relay, peerAddr)
	after := m.page()
	kernel, userSpace := after.minus(before, "offload"), after.minus(before, "relayed")
	want := [4]float64{labPackets, labPackets, labPackets * relaySize, labPackets * relaySize}
	if refused {
		if kernel != ([4]float64{}) || userSpace != want {
			t.Errorf("refused: kernel relayed %v, user space %v; want nothing and %v", kernel, userSpace, want)
		}
		// Missing capabilities are how the shipped unit runs: an info line, not a warning.
		if n := strings.Count(d.Logs.String(), refusedOffload); n != 1 || !strings.Contains(d.Logs.String(), `level=INFO msg="turn: `+refusedOffload) {
			t.Errorf("%d lines say %q, want one at INFO", n, refusedOffload)
		}
	} else if sum := add(kernel, userSpace); sum != want || userSpace[0] > lookalikes || userSpace[1] > lookalikes {
		t.Errorf("kernel relayed %v (packets, bytes to and from the peer), user space %v; want %v, at most %d packets each way in user space",
			kernel, userSpace, want, lookalikes)
	}

	// A stranger without permission: pion drops its packets (and logs each), the client sees the
	// peer's next packet only, and nothing counts as relayed.
	const strays = 5
	for range strays {
		if _, err := stranger.WriteTo([]byte("stray"), relayAddr); err != nil {
			t.Fatal(err)
		}
	}
	dropped := fmt.Sprintf("No Permission or Channel exists for %s", strangerAddr)
	until(t, "pion to drop the stranger's packets", func() bool { return strings.Count(d.Logs.String(), dropped) >= strays })
	if _, err := peer.WriteTo([]byte("after the strays"), relayAddr); err != nil {
		t.Fatal(err)
	}
	_ = relay.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, from, err := relay.ReadFrom(buf)
	if err != nil || from.String() != peerAddr.String() || string(buf[:n]) != "after the strays" {
		t.Errorf("client read %q from %v (%v), want the peer's packet", buf[:n], from, err)
	}

	// The allocation ends (Refresh with lifetime 0): its channel's entries leave the kernel's maps.
	if err := relay.Close(); err != nil {
		t.Fatal(err)
	}
	until(t, "the channel to leave the kernel's maps", func() bool {
		return m.get("duet_turn_offload_channels") == 0 && m.get("duet_turn_allocations") == 0
	})
}

// labSocket is a UDP socket in home i.
func labSocket(t *testing.T, lab *netlab.Lab, i int) (pc net.PacketConn) {
	t.Helper()
	if err := lab.Homes[i].Run(func() (err error) { pc, err = net.ListenPacket("udp4", "0.0.0.0:0"); return }); err != nil {
		t.Fatal(err)
	}
	return pc
}

// labPublic is pc's public address: the homes' NAT keeps source ports, so the router's address
// with the socket's port.
func labPublic(lab *netlab.Lab, i int, pc net.PacketConn) *net.UDPAddr {
	return net.UDPAddrFromAddrPort(netip.AddrPortFrom(lab.Routers[i].Addr, uint16(pc.LocalAddr().(*net.UDPAddr).Port)))
}

// labClient is a TURN client in home i with an allocation on server.
func labClient(t *testing.T, lab *netlab.Lab, i int, server netip.AddrPort) (*turn.Client, net.PacketConn) {
	t.Helper()
	user, pass := Credentials([]byte(labSecret), "alice", time.Now().Add(time.Hour))
	c, err := turn.NewClient(&turn.ClientConfig{STUNServerAddr: server.String(), TURNServerAddr: server.String(),
		Conn: labSocket(t, lab, i), Username: user, Password: pass, RTO: 200 * time.Millisecond, LoggerFactory: pionlog.New(testLogger(), slog.LevelWarn)})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Listen(); err != nil {
		c.Close()
		t.Fatal(err)
	}
	relay, err := c.Allocate()
	if err != nil {
		c.Close()
		t.Fatal(err)
	}
	return c, relay
}

// softwareChecksums makes the homes compute UDP checksums in software, as a remote host's packets
// arrive: a local sender's are left for offload to finish, and the program leaves those to user space.
func softwareChecksums(t *testing.T, lab *netlab.Lab) {
	t.Helper()
	for _, home := range lab.Homes {
		if out, err := home.Command("ethtool", "-K", "eth0", "tx", "off").CombinedOutput(); err != nil {
			t.Fatalf("ethtool (apt-get install ethtool): %v: %s", err, out)
		}
	}
}

// A channel its client stops refreshing expires and leaves the kernel's maps (pion's client
// refreshes after minutes; the relay's lifetime here is 2 s).
func TestOffloadChannelExpiry(t *testing.T) {
	bin := duettest.Binary(t)
	eim := netlab.Home{NAT: netlab.EndpointIndependent}
	lab := netlab.New(t, netlab.Config{Homes: []netlab.Home{eim, eim}})
	softwareChecksums(t, lab)
	d := lab.StartDuet(t, bin, "--turn-secret", labSecret, "--metrics-token", labToken, "--turn-channel-lifetime", "2s")
	m := metricsReader{t: t, url: d.URL + "/metrics", client: nsClient(lab.Homes[0])}
	c, relay := labClient(t, lab, 0, netip.AddrPortFrom(lab.PublicIP, netlab.TURNPort))
	defer c.Close()
	peer := labSocket(t, lab, 1)
	defer peer.Close()
	until(t, "the channel in the kernel's maps", func() bool {
		_, _ = relay.WriteTo([]byte("hello"), labPublic(lab, 1, peer)) // the first packets bind the channel
		return m.get("duet_turn_offload_channels") == 1
	})
	until(t, "the expired channel to leave the kernel's maps and the fast path", func() bool {
		p := m.page()
		return p["duet_turn_offload_channels"] == 0 && p["duet_turn_fast_path_channels"] == 0 && p["duet_turn_allocations"] == 1
	})
}

// labStream sends labPackets from src to dst's address and checks each arrives once, intact, from
// the address src is known by. Within a window the order may differ: a datagram the program leaves to
// pion (see lookalikes) arrives after the kernel's later ones, as UDP allows.
func labStream(t *testing.T, dir byte, src net.PacketConn, to net.Addr, dst net.PacketConn, srcAddr net.Addr) {
	t.Helper()
	buf := make([]byte, 2*relaySize)
	for base := 0; base < labPackets; base += window {
		end := min(base+window, labPackets)
		for seq := base; seq < end; seq++ {
			if _, err := src.WriteTo(payload(dir, seq), to); err != nil {
				t.Fatalf("dir %c write %d: %v", dir, seq, err)
			}
		}
		got := map[int]bool{}
		for len(got) < end-base {
			_ = dst.SetReadDeadline(time.Now().Add(10 * time.Second))
			n, from, err := dst.ReadFrom(buf)
			if err != nil {
				t.Fatalf("dir %c: %d of packets %d-%d never arrived: %v", dir, end-base-len(got), base, end-1, err)
			}
			seq := -1
			if n >= 4 {
				seq = int(binary.BigEndian.Uint32(buf))
			}
			if from.String() != srcAddr.String() || seq < base || seq >= end || got[seq] || !bytes.Equal(buf[:n], payload(dir, seq)) {
				t.Fatalf("dir %c: packet %d (%d bytes) from %v (want %v): not one of %d-%d once and intact", dir, seq, n, from, srcAddr, base, end-1)
			}
			got[seq] = true
		}
	}
}

// drain reads what is still queued from the warm-up.
func drain(pc net.PacketConn, buf []byte) {
	for {
		_ = pc.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if _, _, err := pc.ReadFrom(buf); err != nil {
			return
		}
	}
}

// until polls cond for up to 20 s (bounded, not a timing assertion).
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// add sums two sets of relay counters.
func add(a, b [4]float64) [4]float64 {
	for i := range a {
		a[i] += b[i]
	}
	return a
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// nsClient is an HTTPS client whose connections start in ns (duet's certificate is its own).
func nsClient(ns netlab.Namespace) *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
		DialContext: func(ctx context.Context, network, addr string) (c net.Conn, err error) {
			err = ns.Run(func() error {
				c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
				return err
			})
			return c, err
		},
	}}
}

// metricsReader reads duet's /metrics with the token.
type metricsReader struct {
	t      *testing.T
	url    string
	client *http.Client
}

// relayCounts is a page of /metrics by series.
type relayCounts map[string]float64

func (m metricsReader) page() relayCounts {
	m.t.Helper()
	req, _ := http.NewRequest("GET", m.url, nil)
	req.Header.Set("Authorization", "Bearer "+labToken)
	resp, err := m.client.Do(req)
	if err != nil {
		m.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		m.t.Fatalf("/metrics: %s: %s", resp.Status, body)
	}
	values := relayCounts{}
	for sc := bufio.NewScanner(bytes.NewReader(body)); sc.Scan(); {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if f, err := strconv.ParseFloat(value, 64); ok && err == nil && !strings.HasPrefix(name, "#") {
			values[name] = f
		}
	}
	return values
}

func (m metricsReader) get(name string) float64 { return m.page()[name] }

// minus returns the growth of the "relayed" (user space) or "offload" (kernel) counters:
// packets to peer, packets from peer, bytes to peer, bytes from peer.
func (r relayCounts) minus(o relayCounts, kind string) [4]float64 {
	var out [4]float64
	for i, name := range []string{
		`duet_turn_%s_packets_total{direction="to_peer"}`, `duet_turn_%s_packets_total{direction="from_peer"}`,
		`duet_turn_%s_bytes_total{direction="to_peer"}`, `duet_turn_%s_bytes_total{direction="from_peer"}`,
	} {
		n := fmt.Sprintf(name, kind)
		out[i] = r[n] - o[n]
	}
	return out
}
