package netlab_test

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"duet/internal/netlab"
)

// echo listens on port of the lab's public address and answers every UDP datagram with the address
// it came from, as a STUN server would; it returns where it listens.
func echo(t *testing.T, l *netlab.Lab, port int) netip.AddrPort {
	t.Helper()
	var c *net.UDPConn
	if err := l.Public.Run(func() (err error) {
		c, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(l.Public.Addr, uint16(port))))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			_, _ = c.WriteToUDPAddrPort([]byte(from.String()+" "+string(buf[:n])), from)
		}
	}()
	return c.LocalAddr().(*net.UDPAddr).AddrPort()
}

// udpSocket opens a UDP socket in n on an ephemeral port.
func udpSocket(t *testing.T, n netlab.Namespace) *net.UDPConn {
	t.Helper()
	var c *net.UDPConn
	if err := n.Run(func() (err error) {
		c, err = net.ListenUDP("udp", &net.UDPAddr{IP: n.Addr.AsSlice()})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// mapped sends one probe to the echo at to and returns the address the echo saw it from, or an
// error if no answer came within wait.
func mapped(c *net.UDPConn, to netip.AddrPort, wait time.Duration) (netip.AddrPort, error) {
	probe := fmt.Sprint(time.Now().UnixNano())
	if _, err := c.WriteToUDPAddrPort([]byte(probe), to); err != nil {
		return netip.AddrPort{}, err
	}
	buf := make([]byte, 1500)
	for deadline := time.Now().Add(wait); ; {
		_ = c.SetReadDeadline(deadline)
		n, _, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			return netip.AddrPort{}, err
		}
		// A late answer to an earlier probe is skipped.
		if from, body, ok := strings.Cut(string(buf[:n]), " "); ok && body == probe {
			return netip.ParseAddrPort(from)
		}
	}
}

func TestNATBehaviour(t *testing.T) {
	l := netlab.New(t, netlab.Config{Homes: []netlab.Home{
		{NAT: netlab.EndpointIndependent},
		{NAT: netlab.Symmetric},
		{NAT: netlab.EndpointIndependent, BlockUDP: true},
		{NAT: netlab.EndpointIndependent, OnlyTCP443: true},
	}})
	e1, e2 := echo(t, l, 4000), echo(t, l, 4001)

	t.Run("endpoint-independent keeps one public port for every destination", func(t *testing.T) {
		c := udpSocket(t, l.Homes[0])
		a, err := mapped(c, e1, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		b, err := mapped(c, e2, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		local := c.LocalAddr().(*net.UDPAddr).AddrPort()
		if a.Addr() != l.Routers[0].Addr || a != b || a.Port() != local.Port() {
			t.Errorf("home %v seen as %v by one destination and %v by another; want %v:%d for both", local, a, b, l.Routers[0].Addr, local.Port())
		}
	})
	t.Run("symmetric takes a new public port per destination", func(t *testing.T) {
		c := udpSocket(t, l.Homes[1])
		a, err := mapped(c, e1, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		b, err := mapped(c, e2, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		again, err := mapped(c, e1, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if a.Addr() != l.Routers[1].Addr || a.Port() == b.Port() || again != a {
			t.Errorf("seen as %v, then %v by a second destination, then %v by the first again; want the router's address, two ports, the first one kept", a, b, again)
		}
	})
	t.Run("udp blocked lets no datagram out but TCP", func(t *testing.T) {
		c := udpSocket(t, l.Homes[2])
		if got, err := mapped(c, e1, time.Second); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("a UDP probe got %v, %v; want no answer", got, err)
		}
		var ln net.Listener
		if err := l.Public.Run(func() (err error) {
			ln, err = net.Listen("tcp", netip.AddrPortFrom(l.Public.Addr, 4002).String())
			return err
		}); err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		if err := l.Homes[2].Run(func() error {
			c, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
			if err == nil {
				c.Close()
			}
			return err
		}); err != nil {
			t.Errorf("TCP out of the UDP-blocked home: %v", err)
		}
	})
	t.Run("only TCP 443 lets nothing else out", func(t *testing.T) {
		c := udpSocket(t, l.Homes[3])
		if got, err := mapped(c, e1, time.Second); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("a UDP probe got %v, %v; want no answer", got, err)
		}
		for _, port := range []uint16{443, 4003} {
			var ln net.Listener
			if err := l.Public.Run(func() (err error) {
				ln, err = net.Listen("tcp", netip.AddrPortFrom(l.Public.Addr, port).String())
				return err
			}); err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			err := l.Homes[3].Run(func() error {
				c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second)
				if err == nil {
					c.Close()
				}
				return err
			})
			if (err == nil) != (port == 443) {
				t.Errorf("TCP to port %d: %v; want only 443 open", port, err)
			}
		}
	})
	t.Run("the internet cannot open a way in", func(t *testing.T) {
		c := udpSocket(t, l.Homes[0])
		outside, err := mapped(c, e1, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		// The mapping exists, but only for the echo's own port: another public port is filtered.
		stranger := udpSocket(t, l.Public)
		if _, err := stranger.WriteToUDPAddrPort([]byte("hello"), outside); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		if n, from, err := c.ReadFromUDPAddrPort(make([]byte, 1500)); err == nil {
			t.Errorf("an unsolicited datagram from %v came through the NAT (%d bytes)", from, n)
		}
	})
	t.Run("nothing routes out of the lab nor between homes", func(t *testing.T) {
		// A home's packets go to its router; the routers and duet know only the lab's segments.
		for _, n := range append([]netlab.Namespace{l.Public}, l.Routers...) {
			for _, to := range []string{"192.0.2.1", "8.8.8.8", l.Homes[1].Addr.String()} {
				if n == l.Routers[1] && to == l.Homes[1].Addr.String() {
					continue // its own home
				}
				if out, err := n.Command("ip", "route", "get", to).CombinedOutput(); err == nil {
					t.Errorf("%s has a route to %s: %s", n.Name, to, out)
				}
			}
		}
	})
}

func TestImpairedLink(t *testing.T) {
	const delay = 100 * time.Millisecond
	l := netlab.New(t, netlab.Config{Homes: []netlab.Home{
		{NAT: netlab.EndpointIndependent, Link: netlab.Link{Loss: 0.05, Delay: delay}},
	}})
	to := echo(t, l, 4000)
	c := udpSocket(t, l.Homes[0])
	// Probes go out together, each naming its send time; the echo returns it.
	const probes = 300
	for i := range probes {
		if _, err := c.WriteToUDPAddrPort(fmt.Appendf(nil, "%d %d", i, time.Now().UnixNano()), to); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	got := map[int]bool{}
	buf := make([]byte, 1500)
	for deadline := time.Now().Add(time.Second); len(got) < probes; {
		_ = c.SetReadDeadline(deadline)
		n, _, err := c.ReadFromUDPAddrPort(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		var from string
		var i int
		var sent int64
		if _, err := fmt.Sscanf(string(buf[:n]), "%s %d %d", &from, &i, &sent); err != nil {
			t.Fatalf("echo answered %q: %v", buf[:n], err)
		}
		if rtt := time.Since(time.Unix(0, sent)); rtt < 2*delay {
			t.Fatalf("a round trip took %v, less than the wire's delay twice", rtt)
		}
		got[i] = true
	}
	// 5 % each way loses about 10 % of round trips; the bounds are far out in the tails.
	lost := probes - len(got)
	if lost == 0 || lost > probes*3/10 {
		t.Errorf("%d of %d round trips lost; want some, about 10 %%", lost, probes)
	}
	t.Logf("%d of %d round trips lost", lost, probes)
}

func TestIPv6RoutedHomes(t *testing.T) {
	l := netlab.New(t, netlab.Config{IPv6: true, Homes: []netlab.Home{{NAT: netlab.Routed}, {NAT: netlab.Routed}}})
	e := echo(t, l, 4000)
	c := udpSocket(t, l.Homes[0])
	seen, err := mapped(c, e, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if local := c.LocalAddr().(*net.UDPAddr).AddrPort(); seen != local || !seen.Addr().Is6() {
		t.Errorf("home seen as %v, want its own IPv6 address %v", seen, local)
	}
	// Home 2 may send to home 1's address, but the router lets in only replies.
	other := udpSocket(t, l.Homes[1])
	if _, err := other.WriteToUDPAddrPort([]byte("hello"), seen); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(time.Second))
	if _, from, err := c.ReadFromUDPAddrPort(make([]byte, 1500)); err == nil {
		t.Errorf("an unsolicited datagram from %v came through the firewall", from)
	}
	// Once home 1 has sent to home 2, home 2's answers come in.
	if _, err := c.WriteToUDPAddrPort([]byte("hello"), other.LocalAddr().(*net.UDPAddr).AddrPort()); err != nil {
		t.Fatal(err)
	}
	if _, err := other.WriteToUDPAddrPort([]byte("again"), seen); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, _, err := c.ReadFromUDPAddrPort(make([]byte, 1500)); err != nil || n != len("again") {
		t.Errorf("the reply from home 2 did not come through the firewall: %v", err)
	}
	for _, n := range append(l.Routers, l.Public) {
		if out, err := n.Command("ip", "-4", "addr", "show", "scope", "global").CombinedOutput(); err != nil || len(out) != 0 {
			t.Errorf("%s has IPv4 addresses in an IPv6-only lab: %s %v", n.Name, out, err)
		}
	}
}

func TestLabsOfDeadProcessesAreSwept(t *testing.T) {
	// A lab left by a test process that no longer runs (pid_max is at most 4194304).
	stale := "duetlab-4194305-00000000-net"
	if out, err := exec.Command("ip", "netns", "add", stale).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", stale).Run() })
	netlab.New(t, netlab.Config{Homes: []netlab.Home{{NAT: netlab.Symmetric}}})
	if _, err := os.Stat("/run/netns/" + stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the stale namespace %s is still there: %v", stale, err)
	}
}

func TestTeardownRemovesEveryNamespace(t *testing.T) {
	var names []string
	t.Run("lab", func(t *testing.T) {
		l := netlab.New(t, netlab.Config{Homes: []netlab.Home{{NAT: netlab.Symmetric, Link: netlab.Link{Delay: time.Millisecond}}}})
		for _, n := range append([]netlab.Namespace{l.Public}, append(l.Homes, l.Routers...)...) {
			names = append(names, n.Name)
		}
	})
	if len(names) == 0 {
		t.Fatal("no lab was built")
	}
	for _, n := range names {
		if _, err := os.Stat("/run/netns/" + n); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("namespace %s still there after the test: %v", n, err)
		}
	}
}

func TestCloudNAT(t *testing.T) {
	l := netlab.New(t, netlab.Config{CloudNAT: true, Homes: []netlab.Home{{NAT: netlab.EndpointIndependent}}})
	if l.Public.Addr == l.PublicIP || !l.Public.Addr.IsValid() {
		t.Fatalf("duet's namespace at %v, public address %v: want a private address apart", l.Public.Addr, l.PublicIP)
	}
	local := echo(t, l, 4000)
	public := netip.AddrPortFrom(l.PublicIP, local.Port())
	// Homes reach duet at the public address; its answers leave from there too.
	c := udpSocket(t, l.Homes[0])
	seen, err := mapped(c, public, 5*time.Second)
	if err != nil {
		t.Fatalf("the echo behind the cloud NAT, at %v: %v", public, err)
	}
	if seen.Addr() != l.Routers[0].Addr {
		t.Errorf("duet saw the home as %v, want its router %v", seen, l.Routers[0].Addr)
	}
	// No hairpin: what duet sends to its own public address never comes back.
	self := udpSocket(t, l.Public)
	if got, err := mapped(self, public, time.Second); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("duet reached itself through its public address (seen as %v, %v); the cloud NAT must not hairpin", got, err)
	}
}

func TestRenumber(t *testing.T) {
	l := netlab.New(t, netlab.Config{Homes: []netlab.Home{{NAT: netlab.EndpointIndependent}, {NAT: netlab.Symmetric}}})
	e := echo(t, l, 4000)
	c := udpSocket(t, l.Homes[0])
	before, err := mapped(c, e, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	first := l.Routers[0].Addr
	second := l.Renumber(t, 0)
	if second == first || l.Routers[0].Addr != second || before.Addr() != first {
		t.Fatalf("renumbered from %v (seen as %v) to %v, router now %v", first, before, second, l.Routers[0].Addr)
	}
	// The same socket's flow leaves from the new address; the other home is untouched.
	after, err := mapped(c, e, 5*time.Second)
	if err != nil || after.Addr() != second {
		t.Errorf("after renumbering seen as %v (%v), want %v", after, err, second)
	}
	if other, err := mapped(udpSocket(t, l.Homes[1]), e, 5*time.Second); err != nil || other.Addr() != l.Routers[1].Addr {
		t.Errorf("the other home seen as %v (%v), want %v", other, err, l.Routers[1].Addr)
	}
	if back := l.Renumber(t, 0); back != first {
		t.Errorf("renumbered again to %v, want the first address %v back", back, first)
	}
}

func TestRefilter(t *testing.T) {
	l := netlab.New(t, netlab.Config{Homes: []netlab.Home{{NAT: netlab.EndpointIndependent}}})
	e := echo(t, l, 4000)
	c := udpSocket(t, l.Homes[0])
	if _, err := mapped(c, e, 5*time.Second); err != nil {
		t.Fatalf("open home: %v", err)
	}
	l.Refilter(t, 0, true, false)
	if got, err := mapped(udpSocket(t, l.Homes[0]), e, time.Second); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("UDP blocked, a new flow got %v, %v; want no answer", got, err)
	}
	l.Refilter(t, 0, false, false)
	if _, err := mapped(udpSocket(t, l.Homes[0]), e, 5*time.Second); err != nil {
		t.Errorf("UDP open again: %v", err)
	}
}
