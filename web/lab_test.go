package web_test

// The network lab (internal/netlab): duet and two Chromiums in network namespaces of their own,
// each browser behind a NAT router; the browsers must find their path without being told.

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"duet/internal/netlab"
)

// pairJS describes the candidate pair the page's connection selected (Chromium names it on the
// transport stats).
const pairJS = `(async () => {
	const pc = window.duet && window.duet.pc();
	if (!pc) return null;
	const r = await pc.getStats();
	let pair = null;
	r.forEach((s) => { if (s.type === 'transport' && s.selectedCandidatePairId) pair = r.get(s.selectedCandidatePairId); });
	if (!pair) return null;
	const side = (c) => ({ type: c.candidateType, protocol: c.protocol, relayProtocol: c.relayProtocol || '',
		address: c.address + ':' + c.port });
	return { local: side(r.get(pair.localCandidateId)), remote: side(r.get(pair.remoteCandidateId)) };
})()`

type candidate struct {
	Type          string `json:"type"`
	Protocol      string `json:"protocol"`
	RelayProtocol string `json:"relayProtocol"`
	Address       string `json:"address"`
}

type candidatePair struct {
	Local  candidate `json:"local"`
	Remote candidate `json:"remote"`
}

func (p candidatePair) String() string {
	l := p.Local.Type + " " + p.Local.Address
	if p.Local.RelayProtocol != "" {
		l += " (relay over " + p.Local.RelayProtocol + ")"
	}
	return l + " → " + p.Remote.Type + " " + p.Remote.Address
}

func (p *tab) selectedPair() candidatePair {
	p.t.Helper()
	s := evalJS[*candidatePair](p, pairJS)
	if s == nil {
		p.t.Fatalf("%s: no selected candidate pair%s", p.name, p.debug())
	}
	return *s
}

// labBrowser starts a headless Chromium inside the namespace n; it is closed when the test ends.
func labBrowser(t *testing.T, n netlab.Namespace) context.Context {
	t.Helper()
	b, cancel, err := n.Chromium(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cancel)
	return b
}

// direct checks neither side goes through the relay.
func direct(alice, bob candidatePair) error {
	for _, p := range []candidatePair{alice, bob} {
		if p.Local.Type == "relay" || p.Remote.Type == "relay" {
			return fmt.Errorf("relayed (%v), want a direct path", p)
		}
	}
	return nil
}

// relayOverUDP checks the path crosses a relay allocation, which its holder reaches over UDP (the
// other side may see the allocation as its remote candidate only, having been reached through it).
func relayOverUDP(alice, bob candidatePair) error {
	relayed := false
	for _, p := range []candidatePair{alice, bob} {
		if p.Local.Type != "relay" && p.Remote.Type != "relay" {
			return fmt.Errorf("not relayed: %v", p)
		}
		if p.Local.Type == "relay" {
			relayed = true
			if p.Local.RelayProtocol != "udp" {
				return fmt.Errorf("relay reached over %q (%v), want udp", p.Local.RelayProtocol, p)
			}
		}
	}
	if !relayed {
		return fmt.Errorf("neither side holds the relay candidate")
	}
	return nil
}

// relayOverTCP checks the first side, whose UDP is blocked, reaches its relay candidate over TCP.
func relayOverTCP(alice, _ candidatePair) error {
	if alice.Local.Type != "relay" || alice.Local.RelayProtocol != "tcp" {
		return fmt.Errorf("the UDP-blocked side uses %v, want its relay candidate over tcp", alice)
	}
	return nil
}

// relayOverTLS checks the first side, which may reach nothing but TCP 443, holds its relay
// candidate through TURN over TLS on duet's HTTPS port.
func relayOverTLS(alice, _ candidatePair) error {
	if alice.Local.Type != "relay" || alice.Local.RelayProtocol != "tls" {
		return fmt.Errorf("the side limited to TCP 443 uses %v, want its relay candidate over tls", alice)
	}
	return nil
}

func TestLabCallFindsItsPath(t *testing.T) {
	eim := netlab.Home{NAT: netlab.EndpointIndependent}
	lossy := netlab.Home{NAT: netlab.EndpointIndependent, Link: netlab.Link{Loss: 0.05, Delay: 100 * time.Millisecond}}
	routed := netlab.Home{NAT: netlab.Routed}
	symmetric := netlab.Home{NAT: netlab.Symmetric}
	noUDP := netlab.Home{NAT: netlab.EndpointIndependent, BlockUDP: true}
	for _, tc := range []struct {
		name  string
		lab   netlab.Config
		check func(alice, bob candidatePair) error
	}{
		{"endpoint-independent NATs connect directly", netlab.Config{Homes: []netlab.Home{eim, eim}}, direct},
		{"symmetric NATs need the relay over UDP", netlab.Config{Homes: []netlab.Home{symmetric, symmetric}}, relayOverUDP},
		{"blocked UDP needs the relay over TCP", netlab.Config{Homes: []netlab.Home{noUDP, eim}}, relayOverTCP},
		// Media flowing, checked in every case, is the point here.
		{"a lossy slow link keeps decoding", netlab.Config{Homes: []netlab.Home{lossy, eim}}, direct},
		{"IPv6-only homes connect directly", netlab.Config{IPv6: true, Homes: []netlab.Home{routed, routed}}, func(alice, bob candidatePair) error {
			if err := direct(alice, bob); err != nil {
				return err
			}
			for _, p := range []candidatePair{alice, bob} {
				if !strings.HasPrefix(p.Local.Address, "2001:db8:") || !strings.HasPrefix(p.Remote.Address, "2001:db8:") {
					return fmt.Errorf("not over the homes' IPv6 addresses: %v", p)
				}
			}
			return nil
		}},
		{"IPv6-only with UDP blocked needs the relay over TCP", netlab.Config{IPv6: true, Homes: []netlab.Home{{NAT: netlab.Routed, BlockUDP: true}, routed}}, relayOverTCP},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			labCall(t, tc.lab, 0, "", tc.check)
		})
	}
}

// labCall builds the lab, runs duet in it (its HTTPS on port https, or netlab's with 0), joins a
// page from each of the first two homes (query added to the room URL), checks their selected
// candidate pairs and that media keeps flowing.
func labCall(t *testing.T, cfg netlab.Config, https uint16, query string, check func(alice, bob candidatePair) error) {
	t.Helper()
	lab := netlab.New(t, cfg)
	args := []string{"--turn-secret", "lab-secret", "--log-level", "debug"}
	if https != 0 {
		args = append(args, "--listen", netip.AddrPortFrom(lab.Public.Addr, https).String())
	}
	duet := lab.StartDuet(t, duetBinary, args...)
	url := duet.URL + "/room.html?room=lab" + query
	alice := newPage(t, labBrowser(t, lab.Homes[0]), "alice")
	alice.join(url)
	alice.waitState("joined")
	bob := alice.joinedBy(labBrowser(t, lab.Homes[1]), "bob", url)
	a, b := alice.selectedPair(), bob.selectedPair()
	t.Logf("alice %+v: %v", cfg.Homes[0], a)
	t.Logf("bob %+v: %v", cfg.Homes[1], b)
	if err := check(a, b); err != nil {
		t.Error(err)
	}
	// The connection panel names the same path.
	alice.waitPathShown(a)
	bob.waitPathShown(b)
	// Still decoding a while later, on the path chosen.
	alice.waitMediaFlowing()
	bob.waitMediaFlowing()
}

// pathKey is the catalogue key the connection panel shows for a selected pair.
func (p candidatePair) pathKey() string {
	switch {
	case p.Local.Type == "relay":
		return "path.relay" + strings.ToUpper(p.Local.RelayProtocol[:1]) + p.Local.RelayProtocol[1:]
	case p.Remote.Type == "relay":
		return "path.relayPeer"
	}
	return "path.direct"
}

// waitPathShown waits for the connection panel to name the path of pair.
func (p *tab) waitPathShown(pair candidatePair) {
	p.t.Helper()
	p.waitFor("the panel to show "+pair.pathKey(), fmt.Sprintf(`document.getElementById('stat-path').dataset.i18n === %q`, pair.pathKey()))
}

// bothRelayed checks each side holds a relay candidate and talks to the other's.
func bothRelayed(alice, bob candidatePair) error {
	for _, p := range []candidatePair{alice, bob} {
		if p.Local.Type != "relay" || p.Remote.Type != "relay" {
			return fmt.Errorf("%v, want relay to relay", p)
		}
	}
	return nil
}

// TestLabHardNetworks: the networks of issue #18 that only the relay gets through.
func TestLabHardNetworks(t *testing.T) {
	eim := netlab.Home{NAT: netlab.EndpointIndependent}
	symmetric := netlab.Home{NAT: netlab.Symmetric}
	for _, tc := range []struct {
		name  string
		lab   netlab.Config
		https uint16 // duet's HTTPS port; 0 is netlab's
		query string // added to the room URL
		check func(alice, bob candidatePair) error
	}{
		// duet on 443 turns TURN over TLS on the HTTPS port on by itself (--turns-on-https auto).
		{name: "only TCP 443 out needs the relay over TLS on the HTTPS port",
			lab: netlab.Config{Homes: []netlab.Home{{NAT: netlab.EndpointIndependent, OnlyTCP443: true}, eim}}, https: 443, check: relayOverTLS},
		// Each relay sends to the other's public address, which the cloud NAT does not hairpin.
		{name: "both relayed behind a cloud's 1:1 NAT",
			lab: netlab.Config{CloudNAT: true, Homes: []netlab.Home{symmetric, symmetric}}, query: "&relay=1", check: bothRelayed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			labCall(t, tc.lab, tc.https, tc.query, tc.check)
		})
	}
}

// TestLabResumeAfterRenumber: one home's public address changes mid-call (its provider reconnects
// the line): its page's socket and media flows die with the NAT's mappings. The page re-joins, takes
// its own seat back although the server has not yet noticed the dead socket, and the call comes back
// on both sides without a click, over the new address.
func TestLabResumeAfterRenumber(t *testing.T) {
	t.Parallel()
	eim := netlab.Home{NAT: netlab.EndpointIndependent}
	lab := netlab.New(t, netlab.Config{Homes: []netlab.Home{eim, eim}})
	duet := lab.StartDuet(t, duetBinary, "--turn-secret", "lab-secret", "--log-level", "debug")
	url := duet.URL + "/room.html?room=lab"
	alice := newPage(t, labBrowser(t, lab.Homes[0]), "alice")
	alice.join(url)
	alice.waitState("joined")
	bob := alice.joinedBy(labBrowser(t, lab.Homes[1]), "bob", url)
	t.Logf("before: alice %v", alice.selectedPair())
	for _, p := range []*tab{alice, bob} {
		evalJS[bool](p, `window.__pc = window.duet.pc(); window.__socket = window.duet.socketId(); true`)
	}

	moved := lab.Renumber(t, 0)
	// Alice's page may notice its dead socket only by the heartbeat (ping 4.5 s + the 2 s pong timeout
	// clients are told), then re-joins and restarts ICE: more than waitTimeout on a loaded box.
	bob.waitForWithin("the call to come from alice's new address", fmt.Sprintf(`(%s).then((p) => p && p.remote.address.startsWith(%q))`, pairJS, moved.String()+":"), 45*time.Second)
	for _, p := range []*tab{alice, bob} {
		p.waitState("joined_conn")
		p.waitMediaFlowing()
	}
	t.Logf("after: alice %v, bob %v", alice.selectedPair(), bob.selectedPair())
	// The same calls on both sides, restarted rather than replaced: bob never saw alice leave.
	for _, p := range []*tab{alice, bob} {
		if !evalJS[bool](p, `window.__pc === window.duet.pc()`) {
			t.Errorf("%s: the call was replaced, not resumed", p.name)
		}
	}
	if evalJS[bool](alice, `window.__socket === window.duet.socketId()`) {
		t.Error("alice kept her socket: the renumbering did not reach signaling")
	}
}

// TestLabUnreachableThenOpened: alice's network lets only TCP 443 out and duet's 443 carries no
// TURN, so her relay-only page has no candidate at all: both pages say what failed, in words from
// the catalogue, and keep trying; once her network opens, the call connects without a click.
func TestLabUnreachableThenOpened(t *testing.T) {
	t.Parallel()
	lab := netlab.New(t, netlab.Config{Homes: []netlab.Home{{NAT: netlab.EndpointIndependent, OnlyTCP443: true}, {NAT: netlab.EndpointIndependent}}})
	duet := lab.StartDuet(t, duetBinary, "--turn-secret", "lab-secret", "--log-level", "debug",
		"--listen", netip.AddrPortFrom(lab.Public.Addr, 443).String(), "--turns-on-https", "off")
	alice := newPage(t, labBrowser(t, lab.Homes[0]), "alice")
	alice.join(duet.URL + "/room.html?room=lab&relay=1")
	alice.waitState("joined")
	bob := newPage(t, labBrowser(t, lab.Homes[1]), "bob")
	bob.join(duet.URL + "/room.html?room=lab")
	// Said within the bound: 20 s without a path, and a look every 2.5 s.
	for p, want := range map[*tab]string{alice: "notice.failNoPath", bob: "notice.failPeerNetwork"} {
		if err := p.poll(fmt.Sprintf(`window.duet.notice() === %q`, want), 40*time.Second); err != nil {
			t.Fatalf("%s: no %s: %v (notice %v)%s", p.name, want, err, evalJS[any](p, `window.duet.notice()`), p.debug())
		}
	}
	if st := evalJS[string](alice, `window.duet.pc().connectionState`); st == "connected" {
		t.Fatal("alice connected although her network lets nothing through")
	}
	lab.Refilter(t, 0, false, false)
	for _, p := range []*tab{alice, bob} {
		if err := p.poll(`window.duet.pc() && window.duet.pc().connectionState === 'connected'`, 40*time.Second); err != nil {
			t.Fatalf("%s: the call did not come up once the network opened: %v%s", p.name, err, p.debug())
		}
	}
	a := alice.selectedPair()
	t.Logf("alice, her network opened: %v", a)
	if a.Local.Type != "relay" {
		t.Errorf("alice's relay-only call uses %v", a)
	}
	alice.waitPathShown(a)
	alice.waitMediaFlowing()
	bob.waitMediaFlowing()
}
