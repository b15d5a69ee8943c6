package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/logging"
	"github.com/pion/turn/v5"

	"duet/internal/duettest"
)

// Attacks on the embedded TURN relay from several loopback source addresses (127.0.0.2 and up),
// checked by what users notice: /healthz answers, a caller from another address gets an
// allocation, and the process gives back its file descriptors and goroutines afterwards.

// from returns a dialer whose connections leave from the local address ip.
func from(ip string) *net.Dialer {
	return &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 3 * time.Second}
}

// httpFrom is an HTTPS client (self-signed certificate accepted) whose requests leave from ip; its
// timeout leaves room for a long poll.
func httpFrom(ip string) *http.Client {
	return &http.Client{
		// No keep-alive: the connection is gone from the server's file descriptors after each request.
		Transport: &http.Transport{DialContext: from(ip).DialContext, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true},
		Timeout:   15 * time.Second,
	}
}

// credentialsFrom asks /api/ice-servers for TURN credentials from ip; status is the HTTP status.
func credentialsFrom(t *testing.T, url, ip string) (user, pass string, status int) {
	t.Helper()
	resp, err := httpFrom(ip).Get(url + "/api/ice-servers")
	if err != nil {
		t.Fatalf("GET /api/ice-servers from %s: %v", ip, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", "", resp.StatusCode
	}
	var ice struct {
		ICEServers []struct{ Username, Credential string } `json:"iceServers"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&ice); err != nil || len(ice.ICEServers) < 2 {
		t.Fatalf("ice servers from %s: %+v %v", ip, ice, err)
	}
	return ice.ICEServers[1].Username, ice.ICEServers[1].Credential, resp.StatusCode
}

// allocation is a pion TURN client holding a relay allocation.
type allocation struct {
	client *turn.Client
	conn   net.PacketConn // the client's socket or stream
	relay  net.PacketConn
}

func (a *allocation) Close() {
	_ = a.relay.Close() // a Refresh with lifetime 0: the server frees the allocation now
	a.client.Close()
	_ = a.conn.Close()
}

// allocateFrom makes an allocation from ip over "udp", "tcp" or "tls" to server (host:port).
func allocateFrom(ip, network, server, user, pass string) (*allocation, error) {
	var conn net.PacketConn
	switch network {
	case "udp":
		pc, err := net.ListenPacket("udp4", ip+":0")
		if err != nil {
			return nil, err
		}
		conn = pc
	case "tcp", "tls":
		c, err := from(ip).Dial("tcp", server)
		if err != nil {
			return nil, err
		}
		if network == "tls" {
			c = tls.Client(c, &tls.Config{InsecureSkipVerify: true})
		}
		conn = turn.NewSTUNConn(c)
	}
	client, err := turn.NewClient(&turn.ClientConfig{
		STUNServerAddr: server, TURNServerAddr: server, Conn: conn, Username: user, Password: pass,
		RTO:           200 * time.Millisecond,
		LoggerFactory: &logging.DefaultLoggerFactory{Writer: io.Discard, DefaultLogLevel: logging.LogLevelDisabled},
	})
	if err == nil {
		err = client.Listen()
	}
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	relay, err := client.Allocate()
	if err != nil {
		client.Close()
		_ = conn.Close()
		return nil, err
	}
	return &allocation{client: client, conn: conn, relay: relay}, nil
}

// mustAllocate is allocateFrom for a caller that must succeed, with fresh credentials from ip.
func mustAllocate(t *testing.T, url, ip, network, server string) {
	t.Helper()
	user, pass, status := credentialsFrom(t, url, ip)
	if status != http.StatusOK {
		t.Fatalf("a fresh caller from %s got %d from /api/ice-servers", ip, status)
	}
	a, err := allocateFrom(ip, network, server, user, pass)
	if err != nil {
		t.Fatalf("a fresh caller from %s got no %s allocation: %v", ip, network, err)
	}
	a.Close()
}

// scrape reads one sample of duet's /metrics, from loopback.
func scrape(t *testing.T, url, name string) float64 {
	t.Helper()
	return metric(t, duettest.Get(t, url+"/metrics"), name)
}

// settles waits up to 15 s for the process to give back what an attack took: file descriptors
// and goroutines back within a few of the numbers before it.
func settles(t *testing.T, d *duettest.Duet, fds, goroutines int) {
	t.Helper()
	var nowFDs, nowG int
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		nowFDs, nowG = d.OpenFiles(t), int(scrape(t, d.URL, "go_goroutines"))
		if nowFDs <= fds+4 && nowG <= goroutines+8 {
			return
		}
	}
	t.Errorf("after the attack: %d file descriptors (%d before), %d goroutines (%d before)", nowFDs, fds, nowG, goroutines)
}

// healthy checks a fresh HTTPS connection gets /healthz answered.
func healthy(t *testing.T, url, when string) {
	t.Helper()
	resp, err := httpFrom("127.0.0.1").Get(url + "/healthz")
	if err != nil {
		t.Errorf("/healthz %s: %v", when, err)
		return
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz %s: %s", when, resp.Status)
	}
}

// openSilent opens n TCP connections from ip to addr that never send a byte.
func openSilent(ip, addr string, n int) []net.Conn {
	var conns []net.Conn
	for range n {
		if c, err := from(ip).Dial("tcp", addr); err == nil {
			conns = append(conns, c)
		}
	}
	return conns
}

// stillOpen counts the connections the server has not closed: a read that times out after wait,
// rather than ending with EOF or a reset, means the server still holds the connection.
func stillOpen(conns []net.Conn, wait time.Duration) int {
	var mu sync.Mutex
	var wg sync.WaitGroup
	open := 0
	for _, c := range conns {
		wg.Go(func() {
			_ = c.SetReadDeadline(time.Now().Add(wait))
			_, err := c.Read(make([]byte, 64))
			if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
				mu.Lock()
				open++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return open
}

func closeAll(conns []net.Conn) {
	for _, c := range conns {
		_ = c.Close()
	}
}

// TestAttackTURNSilentTCP opens 600 TCP and TLS connections to the TURN ports from six addresses
// and never sends a byte, with duet limited to 512 file descriptors. Before the fix every one
// stayed open, the file descriptors ran out, /healthz stopped answering and pion's accept loop
// ended for good (no TURN over TCP until a restart).
func TestAttackTURNSilentTCP(t *testing.T) {
	t.Parallel()
	port, tlsPort := freePort(t), strconv.Itoa(duettest.FreePort(t))
	d := duettest.Start(t, "prlimit", "--nofile=512:512", duettest.Binary(t), "--listen", "127.0.0.1:0",
		"--turn-listen", "127.0.0.1:"+port, "--turns-listen", "127.0.0.1:"+tlsPort,
		"--public-ip", "127.0.0.1", "--turn-allow-peer", "127.0.0.0/8")
	turnAddr, tlsAddr := "127.0.0.1:"+port, "127.0.0.1:"+tlsPort
	goroutines := int(scrape(t, d.URL, "go_goroutines")) // first: the scrape's connection stays open
	fds := d.OpenFiles(t)

	var conns []net.Conn
	for i := range 6 {
		ip := fmt.Sprintf("127.0.0.%d", 2+i)
		conns = append(conns, openSilent(ip, turnAddr, 70)...)
		conns = append(conns, openSilent(ip, tlsAddr, 30)...)
	}
	defer closeAll(conns)
	t.Logf("%d silent connections open, duet holds %d file descriptors", len(conns), d.OpenFiles(t))

	healthy(t, d.URL, "with the TURN ports flooded")
	mustAllocate(t, d.URL, "127.0.0.20", "udp", turnAddr)
	if open := stillOpen(conns, 15*time.Second); open > 0 {
		t.Errorf("%d of %d silent connections still open 15 s later", open, len(conns))
	}
	closeAll(conns)
	settles(t, d, fds, goroutines)
	mustAllocate(t, d.URL, "127.0.0.21", "tcp", turnAddr)
	mustAllocate(t, d.URL, "127.0.0.21", "tls", tlsAddr)
	healthy(t, d.URL, "after the attack")
}

// TestAttackTURNOneAddressTCP floods the TURN TCP port from one address: it keeps at most
// --turn-max-tcp-per-ip connections, and a caller from another address still gets in over TCP.
func TestAttackTURNOneAddressTCP(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	d := duettest.Start(t, duettest.Binary(t), "--listen", "127.0.0.1:0", "--turn-listen", "127.0.0.1:"+port,
		"--public-ip", "127.0.0.1", "--turn-allow-peer", "127.0.0.0/8")
	turnAddr := "127.0.0.1:" + port
	conns := openSilent("127.0.0.2", turnAddr, 300)
	defer closeAll(conns)
	// Well inside the handshake timeout (5 s), only the per-address cap has acted.
	if open := stillOpen(conns, time.Second); open > 64 {
		t.Errorf("%d of the %d connections from one address are held, want at most 64", open, len(conns))
	}
	mustAllocate(t, d.URL, "127.0.0.3", "tcp", turnAddr)
}

// stunBinding sends a STUN Binding request on c and reads the answer's header.
func stunBinding(t *testing.T, c net.Conn) {
	t.Helper()
	req := []byte{0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	head := make([]byte, 20)
	if _, err := io.ReadFull(c, head); err != nil || head[0] != 0x01 || head[1] != 0x01 {
		t.Fatalf("binding answer %x: %v", head, err)
	}
}

// TestAttackTURNIdleTCP holds TURN TCP and TLS connections that spoke STUN once and then fell
// silent, and ones that started a TLS handshake and stalled: each is closed by its deadline.
func TestAttackTURNIdleTCP(t *testing.T) {
	t.Parallel()
	port, tlsPort := freePort(t), strconv.Itoa(duettest.FreePort(t))
	d := duettest.Start(t, duettest.Binary(t), "--listen", "127.0.0.1:0", "--turn-listen", "127.0.0.1:"+port,
		"--turns-listen", "127.0.0.1:"+tlsPort, "--turn-tcp-idle-timeout", "2s")
	fds := d.OpenFiles(t)

	plain, err := from("127.0.0.2").Dial("tcp", "127.0.0.1:"+port)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	raw, err := from("127.0.0.2").Dial("tcp", "127.0.0.1:"+tlsPort)
	if err != nil {
		t.Fatal(err)
	}
	secure := tls.Client(raw, &tls.Config{InsecureSkipVerify: true})
	defer secure.Close()
	stalled, err := from("127.0.0.3").Dial("tcp", "127.0.0.1:"+tlsPort)
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	if _, err := stalled.Write([]byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01}); err != nil { // a ClientHello's first bytes
		t.Fatal(err)
	}
	start := time.Now()
	stunBinding(t, plain)
	stunBinding(t, secure)

	for name, c := range map[string]net.Conn{"silent TCP after a Binding": plain, "silent TLS after a Binding": secure, "stalled TLS handshake": stalled} {
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
		_, err := io.ReadAll(c)
		if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
			t.Errorf("%s: still open after %v", name, time.Since(start).Round(time.Second))
		}
	}
	if elapsed := time.Since(start); elapsed < 1500*time.Millisecond {
		t.Errorf("the idle connections were closed after %v, before the 2 s idle timeout", elapsed)
	}
	if n := d.OpenFiles(t); n > fds+2 {
		t.Errorf("%d file descriptors, %d before", n, fds)
	}
}

// TestAttackRelayPorts is the relay-range exhaustion: one address fetches credentials and
// allocates until refused, over a range of 200 relay ports. Before the fix it filled the range
// (every later caller got 508) and /api/ice-servers never said no.
func TestAttackRelayPorts(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	// Below the ephemeral range, spread across parallel runs.
	lo := 21000 + int(time.Now().UnixNano()%40)*200
	d := duettest.Start(t, duettest.Binary(t), "--listen", "127.0.0.1:0", "--turn-listen", "127.0.0.1:"+port,
		"--public-ip", "127.0.0.1", "--relay-ports", fmt.Sprintf("%d-%d", lo, lo+199))
	server := "127.0.0.1:" + port
	goroutines := int(scrape(t, d.URL, "go_goroutines")) // first: the scrape's connection stays open
	fds := d.OpenFiles(t)

	var held []*allocation
	defer func() {
		for _, a := range held {
			a.Close()
		}
	}()
	var user, pass string
	limited, refused := 0, 0
	var lastErr error
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for range 40 {
		u, p, status := credentialsFrom(t, d.URL, "127.0.0.2")
		switch status {
		case http.StatusOK:
			user, pass = u, p
		case http.StatusTooManyRequests:
			limited++ // the credentials already fetched still serve
		default:
			t.Fatalf("/api/ice-servers: %d", status)
		}
		for range 10 {
			if ctx.Err() != nil {
				t.Fatal("the attack took over a minute")
			}
			a, err := allocateFrom("127.0.0.2", "udp", server, user, pass)
			if err != nil {
				refused++
				lastErr = err
				continue
			}
			held = append(held, a)
		}
	}
	t.Logf("one address: %d allocations, %d refused (last: %v), %d of 40 credential requests rate-limited", len(held), refused, lastErr, limited)
	if len(held) > 64 {
		t.Errorf("one address holds %d allocations, want at most 64", len(held))
	}
	if limited == 0 {
		t.Error("40 credential requests in a row from one address were never rate-limited")
	}
	mustAllocate(t, d.URL, "127.0.0.3", "udp", server)
	mustAllocate(t, d.URL, "127.0.0.4", "tcp", server)
	if lastErr != nil && !strings.Contains(lastErr.Error(), "486") {
		t.Errorf("refused with %v, want 486 Allocation Quota Reached", lastErr)
	}

	for _, a := range held {
		a.Close()
	}
	held = nil
	settles(t, d, fds, goroutines)
	if n := scrape(t, d.URL, "duet_turn_allocations"); n != 0 {
		t.Errorf("%v allocations left", n)
	}
}
