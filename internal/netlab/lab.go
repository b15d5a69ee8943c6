package netlab

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
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
	// Routed translates nothing: the home's addresses are public and reachable through the
	// router's stateful filter only, as IPv6 home routers do.
	Routed NAT = "routed"
)

// Link impairs the cable between a home and its router, in both directions.
type Link struct {
	Loss  float64       // share of packets dropped, 0 to 1
	Delay time.Duration // added to every packet, each way
}

// Home is one home network behind its own router.
type Home struct {
	NAT NAT
	// BlockUDP drops every UDP packet the home sends out, as strict corporate firewalls do: only
	// TCP (TURN over TCP) gets out.
	BlockUDP bool
	// OnlyTCP443 lets nothing out but TCP to port 443, as the strictest guest and corporate
	// networks do: only the web port, and TURN over TLS on it.
	OnlyTCP443 bool
	Link       Link // zero: a plain veth
}

// Config describes a lab: the homes, in order, and the one address family of every namespace.
type Config struct {
	Homes []Home
	IPv6  bool // IPv6 only (2001:db8::/32); otherwise IPv4 only (198.18.0.0/15)
	// CloudNAT puts duet behind a cloud's 1:1 NAT: its namespace holds only a private address, and
	// a router translates the public one to it both ways, without hairpin (IPv4 only).
	CloudNAT bool
}

// maxHomes keeps every home's numbers inside its /24s.
const maxHomes = 8

// ErrConfig is returned for a lab that cannot be built.
var ErrConfig = errors.New("netlab: invalid config")

func (c Config) validate() error {
	if len(c.Homes) == 0 || len(c.Homes) > maxHomes {
		return fmt.Errorf("%w: %d homes, want 1 to %d", ErrConfig, len(c.Homes), maxHomes)
	}
	if c.CloudNAT && c.IPv6 {
		return fmt.Errorf("%w: a cloud NAT is IPv4 only", ErrConfig)
	}
	for i, h := range c.Homes {
		switch h.NAT {
		case EndpointIndependent, Symmetric, Routed:
		default:
			return fmt.Errorf("%w: home %d: unknown NAT %q", ErrConfig, i+1, h.NAT)
		}
		if h.Link.Loss < 0 || h.Link.Loss >= 1 || h.Link.Delay < 0 {
			return fmt.Errorf("%w: home %d: loss %v, delay %v", ErrConfig, i+1, h.Link.Loss, h.Link.Delay)
		}
	}
	return nil
}

// Lab is a built lab.
type Lab struct {
	Public   Namespace   // where duet runs, at its own address (private with Config.CloudNAT)
	PublicIP netip.Addr  // the one address every home reaches duet at: Public.Addr, or the cloud NAT's
	Homes    []Namespace // one per Config.Homes, each behind its router
	Routers  []Namespace // Routers[i] is Homes[i]'s, at its public (wan) address
	Range    string      // every address of the lab, as a prefix; duet's relay must be allowed there
	plan     plan
	homes    []Home
	net      Namespace
	all      []Namespace
	wires    []*wire
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
	l := &Lab{plan: plan{v6: cfg.IPv6}, homes: cfg.Homes}
	l.Range = l.plan.all().String()
	t.Cleanup(func() {
		if err := l.close(); err != nil {
			t.Error(err)
		}
	})
	if err := l.build(cfg); err != nil {
		t.Fatal(err)
	}
	return l
}

func (l *Lab) build(cfg Config) error {
	sweep()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	prefix := fmt.Sprintf("%s%d-%s", namePrefix, os.Getpid(), hex.EncodeToString(b))
	p := l.plan
	add := func(role string) (Namespace, error) {
		n := Namespace{Name: prefix + "-" + role}
		if err := ip("netns", "add", n.Name); err != nil {
			return n, err
		}
		l.all = append(l.all, n)
		if err := p.sysctls(n); err != nil {
			return n, err
		}
		return n, ip("-n", n.Name, "link", "set", "lo", "up")
	}
	var err error
	if l.net, err = add("net"); err != nil {
		return err
	}
	if err := ip("-n", l.net.Name, "link", "add", "br0", "up", "type", "bridge"); err != nil {
		return err
	}
	if l.Public, err = add("pub"); err != nil {
		return err
	}
	l.PublicIP = p.internet().Addr()
	edge := l.Public // the namespace on the internet at PublicIP
	if cfg.CloudNAT {
		if edge, err = add("cloud"); err != nil {
			return err
		}
		edge.Addr, l.Public.Addr = l.PublicIP, p.cloudPrivate().Addr()
		if err := l.plugIn(edge, "wan", "pub"); err != nil {
			return err
		}
		if err := l.cloudNAT(edge); err != nil {
			return err
		}
	} else {
		l.Public.Addr = l.PublicIP
		if err := l.plugIn(l.Public, "eth0", "pub"); err != nil {
			return err
		}
	}
	for i, h := range cfg.Homes {
		r, err := add(fmt.Sprintf("rtr%d", i+1))
		if err != nil {
			return err
		}
		home, err := add(fmt.Sprintf("home%d", i+1))
		if err != nil {
			return err
		}
		r.Addr, home.Addr = p.routerWAN(i).Addr(), p.home(i).Addr()
		l.Routers, l.Homes = append(l.Routers, r), append(l.Homes, home)
		if err := l.plugIn(r, "wan", fmt.Sprintf("wan%d", i+1)); err != nil {
			return err
		}
		if err := l.cable(home, r, h.Link, i); err != nil {
			return err
		}
		if err := ip("-n", home.Name, "route", "add", "default", "via", p.routerLAN(i).Addr().String()); err != nil {
			return err
		}
		if err := router(r, h, p.v6); err != nil {
			return err
		}
	}
	// A routed home's network is reachable from the internet, through its router.
	for i, h := range cfg.Homes {
		if h.NAT != Routed {
			continue
		}
		for _, n := range append([]Namespace{edge}, l.Routers...) {
			if n == l.Routers[i] {
				continue
			}
			if err := ip("-n", n.Name, "route", "add", p.home(i).Masked().String(), "via", l.Routers[i].Addr.String()); err != nil {
				return err
			}
		}
	}
	return nil
}

// cloudNAT joins duet's namespace to r, the cloud's router on the internet, which maps the public
// address to duet's private one 1:1 both ways.
func (l *Lab) cloudNAT(r Namespace) error {
	p := l.plan
	if err := ip("-n", l.Public.Name, "link", "add", "eth0", "type", "veth", "peer", "name", "lan", "netns", r.Name); err != nil {
		return err
	}
	if err := l.up(l.Public, "eth0", p.cloudPrivate().Bits(), l.Public.Addr); err != nil {
		return err
	}
	if err := l.up(r, "lan", p.cloudLAN().Bits(), p.cloudLAN().Addr()); err != nil {
		return err
	}
	if err := ip("-n", l.Public.Name, "route", "add", "default", "via", p.cloudLAN().Addr().String()); err != nil {
		return err
	}
	return cloudRouter(r, l.PublicIP, l.Public.Addr)
}

// Refilter changes home i's firewall switches (BlockUDP, OnlyTCP443) mid-test, as a user moving
// to another network would see: flows already let through stay, new ones meet the new rules.
// Its NAT and link stay as built.
func (l *Lab) Refilter(t testing.TB, i int, blockUDP, onlyTCP443 bool) {
	t.Helper()
	if i < 0 || i >= len(l.Routers) {
		t.Fatalf("netlab: no home %d", i+1)
	}
	h := l.homes[i]
	h.BlockUDP, h.OnlyTCP443 = blockUDP, onlyTCP443
	family := "ip"
	if l.plan.v6 {
		family = "ip6"
	}
	// One nft transaction: the old table goes and the new one comes at once.
	if err := run(l.Routers[i].Command("nft", "-f", "-"), "delete table "+family+" lab\n"+ruleset(h, l.plan.v6)); err != nil {
		t.Fatal(err)
	}
	l.homes[i] = h
}

// Renumber gives home i's router another public address, as a provider does when the line
// reconnects: the NAT's mappings go with the old address (the kernel forgets masqueraded flows of
// an address that goes away), so every flow of the home must find its way again. A home that is
// not behind NAT cannot be renumbered this way.
func (l *Lab) Renumber(t testing.TB, i int) netip.Addr {
	t.Helper()
	if i < 0 || i >= len(l.Routers) || l.homes[i].NAT == Routed {
		t.Fatalf("netlab: home %d cannot be renumbered", i+1)
	}
	r := &l.Routers[i]
	old, next := r.Addr, l.plan.renumbered(i).Addr()
	if old == next {
		next = l.plan.routerWAN(i).Addr()
	}
	bits := l.plan.internet().Bits()
	// Old first: the new one would be a secondary address, which goes with the primary.
	if err := ip("-n", r.Name, "addr", "del", fmt.Sprintf("%s/%d", old, bits), "dev", "wan"); err != nil {
		t.Fatal(err)
	}
	if err := ip("-n", r.Name, "addr", "add", fmt.Sprintf("%s/%d", next, bits), "dev", "wan"); err != nil {
		t.Fatal(err)
	}
	r.Addr = next
	return next
}

// plugIn connects n to the internet bridge through a veth named dev in n and port on the bridge.
func (l *Lab) plugIn(n Namespace, dev, port string) error {
	if err := ip("-n", n.Name, "link", "add", dev, "type", "veth", "peer", "name", port, "netns", l.net.Name); err != nil {
		return err
	}
	if err := ip("-n", l.net.Name, "link", "set", port, "master", "br0", "up"); err != nil {
		return err
	}
	return l.up(n, dev, l.plan.internet().Bits(), n.Addr)
}

// cable joins home i (eth0) to its router (lan): a veth, or a wire when the link is impaired.
func (l *Lab) cable(home, r Namespace, link Link, i int) error {
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
	if err := l.up(home, "eth0", l.plan.home(i).Bits(), home.Addr); err != nil {
		return err
	}
	return l.up(r, "lan", l.plan.routerLAN(i).Bits(), l.plan.routerLAN(i).Addr())
}

// up gives dev in n its address and brings it up.
func (l *Lab) up(n Namespace, dev string, bits int, addr fmt.Stringer) error {
	if err := ip("-n", n.Name, "addr", "add", fmt.Sprintf("%s/%d", addr, bits), "dev", dev); err != nil {
		return err
	}
	return ip("-n", n.Name, "link", "set", dev, "up")
}

// namePrefix starts every lab namespace's name, followed by the test process's id.
const namePrefix = "duetlab-"

// sweep deletes the namespaces of labs whose test process died before its clean-up ran (a test
// binary killed on timeout), so they cannot pile up; live processes' labs are left alone.
func sweep() {
	entries, _ := os.ReadDir("/run/netns")
	for _, e := range entries {
		pid, _, ok := strings.Cut(strings.TrimPrefix(e.Name(), namePrefix), "-")
		if !strings.HasPrefix(e.Name(), namePrefix) || !ok {
			continue
		}
		if _, err := os.Stat("/proc/" + pid); errors.Is(err, os.ErrNotExist) {
			_ = ip("netns", "del", e.Name())
		}
	}
}

// close stops the wires and deletes every namespace, whatever failed before.
func (l *Lab) close() error {
	for _, w := range l.wires {
		w.close()
	}
	var errs []error
	for i := len(l.all) - 1; i >= 0; i-- {
		errs = append(errs, ip("netns", "del", l.all[i].Name))
	}
	return errors.Join(errs...)
}
