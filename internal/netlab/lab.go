package netlab

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"testing"
	"time"
)

// NAT is how a home's router translates and filters.
type NAT string

const (
	// EndpointIndependent maps a home socket to one public port for every destination (the
	// source port is kept), as most home routers do: peer-to-peer works through it.
	EndpointIndependent NAT = "endpoint-independent"
	// Symmetric maps a home socket to a new random public port for every destination, as
	// carrier-grade and corporate NATs do: only a relay gets through two of them.
	Symmetric NAT = "symmetric"
	// UDPBlocked is EndpointIndependent with every forwarded UDP packet dropped, as strict
	// corporate firewalls do: only TCP (TURN over TCP) gets out.
	UDPBlocked NAT = "udp-blocked"
)

// Link impairs the cable between a home and its router, in both directions.
type Link struct {
	Loss  float64       // share of packets dropped, 0 to 1
	Delay time.Duration // added to every packet, each way
}

// Home is one home network behind its own router.
type Home struct {
	NAT  NAT
	Link Link // zero: a plain veth
}

// Config describes a lab: the homes, in order.
type Config struct {
	Homes []Home
}

// maxHomes keeps every home's numbers inside its /24s.
const maxHomes = 8

// ErrConfig is returned for a lab that cannot be built.
var ErrConfig = errors.New("netlab: invalid config")

func (c Config) validate() error {
	if len(c.Homes) == 0 || len(c.Homes) > maxHomes {
		return fmt.Errorf("%w: %d homes, want 1 to %d", ErrConfig, len(c.Homes), maxHomes)
	}
	for i, h := range c.Homes {
		switch h.NAT {
		case EndpointIndependent, Symmetric, UDPBlocked:
		default:
			return fmt.Errorf("%w: home %d: unknown NAT %q", ErrConfig, i+1, h.NAT)
		}
		if h.Link.Loss < 0 || h.Link.Loss >= 1 || h.Link.Delay < 0 {
			return fmt.Errorf("%w: home %d: loss %v, delay %v", ErrConfig, i+1, h.Link.Loss, h.Link.Delay)
		}
	}
	return nil
}

// The lab's addresses; all in 198.18.0.0/15.
var (
	// PublicAddr is duet's namespace: the one address every home can reach.
	PublicAddr = netip.MustParseAddr("198.18.0.2")
	// Internet is the segment between the routers and duet; a relay must be allowed to send there.
	Internet = netip.MustParsePrefix("198.18.0.0/24")
)

func routerWAN(i int) netip.Addr { return netip.AddrFrom4([4]byte{198, 18, 0, byte(11 + i)}) }
func routerLAN(i int) netip.Addr { return netip.AddrFrom4([4]byte{198, 19, byte(1 + i), 1}) }
func homeAddr(i int) netip.Addr  { return netip.AddrFrom4([4]byte{198, 19, byte(1 + i), 2}) }

// Lab is a built lab.
type Lab struct {
	Public  Namespace   // where duet runs, at PublicAddr
	Homes   []Namespace // one per Config.Homes, each behind its router
	Routers []Namespace // Routers[i] is Homes[i]'s, at its public (wan) address
	net     Namespace
	all     []Namespace
	wires   []*wire
}

// New builds the lab, or fails the test; it is torn down when the test ends. It needs root.
func New(t testing.TB, cfg Config) *Lab {
	t.Helper()
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		t.Fatal("netlab: the network lab needs root (network namespaces, nftables); CI runs the tests as root")
	}
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("netlab: %s is missing: apt-get install iproute2 nftables (`make test` installs them through scripts/test-deps.sh)", tool)
		}
	}
	l := &Lab{}
	t.Cleanup(l.close)
	if err := l.build(cfg); err != nil {
		t.Fatal(err)
	}
	return l
}

func (l *Lab) build(cfg Config) error {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	prefix := "duetlab-" + hex.EncodeToString(b)
	add := func(role string, addr netip.Addr) (Namespace, error) {
		n := Namespace{Name: prefix + "-" + role, Addr: addr}
		if err := ip("netns", "add", n.Name); err != nil {
			return n, err
		}
		l.all = append(l.all, n)
		return n, ip("-n", n.Name, "link", "set", "lo", "up")
	}
	var err error
	if l.net, err = add("net", netip.Addr{}); err != nil {
		return err
	}
	if err := ip("-n", l.net.Name, "link", "add", "br0", "up", "type", "bridge"); err != nil {
		return err
	}
	if l.Public, err = add("pub", PublicAddr); err != nil {
		return err
	}
	if err := l.plugIn(l.Public, "eth0", "pub", PublicAddr); err != nil {
		return err
	}
	for i, h := range cfg.Homes {
		r, err := add(fmt.Sprintf("rtr%d", i+1), routerWAN(i))
		if err != nil {
			return err
		}
		home, err := add(fmt.Sprintf("home%d", i+1), homeAddr(i))
		if err != nil {
			return err
		}
		l.Routers, l.Homes = append(l.Routers, r), append(l.Homes, home)
		if err := l.plugIn(r, "wan", fmt.Sprintf("wan%d", i+1), r.Addr); err != nil {
			return err
		}
		if err := l.cable(home, r, h.Link, homeAddr(i), routerLAN(i)); err != nil {
			return err
		}
		if err := ip("-n", home.Name, "route", "add", "default", "via", routerLAN(i).String()); err != nil {
			return err
		}
		if err := router(r, h.NAT); err != nil {
			return err
		}
	}
	return nil
}

// plugIn connects n to the internet bridge through a veth named dev in n and port on the bridge.
func (l *Lab) plugIn(n Namespace, dev, port string, addr netip.Addr) error {
	if err := ip("-n", n.Name, "link", "add", dev, "type", "veth", "peer", "name", port, "netns", l.net.Name); err != nil {
		return err
	}
	if err := ip("-n", l.net.Name, "link", "set", port, "master", "br0", "up"); err != nil {
		return err
	}
	return up(n, dev, addr, 24)
}

// cable joins a home (eth0) to its router (lan): a veth, or a wire when the link is impaired.
func (l *Lab) cable(home, r Namespace, link Link, homeIP, routerIP netip.Addr) error {
	if link == (Link{}) {
		if err := ip("-n", home.Name, "link", "add", "eth0", "type", "veth", "peer", "name", "lan", "netns", r.Name); err != nil {
			return err
		}
	} else {
		w, err := newWire(home, "eth0", r, "lan", link)
		if err != nil {
			return err
		}
		l.wires = append(l.wires, w)
	}
	if err := up(home, "eth0", homeIP, 24); err != nil {
		return err
	}
	return up(r, "lan", routerIP, 24)
}

func up(n Namespace, dev string, addr netip.Addr, bits int) error {
	if err := ip("-n", n.Name, "addr", "add", netip.PrefixFrom(addr, bits).String(), "dev", dev); err != nil {
		return err
	}
	return ip("-n", n.Name, "link", "set", dev, "up")
}

// close stops the wires and deletes every namespace, whatever failed before.
func (l *Lab) close() {
	for _, w := range l.wires {
		w.close()
	}
	for i := len(l.all) - 1; i >= 0; i-- {
		_ = ip("netns", "del", l.all[i].Name)
	}
}
