package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"duet/internal/duettest"
	"duet/internal/siotest"
)

// startDuet runs the server in this process with args; stop ends it as a signal would and returns
// what run returned.
func startDuet(t *testing.T, args ...string) (url string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &duettest.LogBuffer{}
	done, ended := make(chan error, 1), make(chan struct{})
	go func() {
		done <- run(ctx, append([]string{"--listen", "127.0.0.1:0"}, args...), nil, logs)
		close(ended)
	}()
	m, waitErr := logs.WaitFor(duettest.Listening, 10*time.Second, ended)
	if waitErr != nil {
		select {
		case err := <-done:
			t.Fatalf("duet stopped (%v): %v", err, waitErr)
		default:
			cancel()
			t.Fatalf("duet did not start: %v", waitErr)
		}
	}
	url = "https://" + m[1]
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				err = errors.New("duet did not stop within 30 s")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return url, stop
}

// freePort returns a loopback port free for both UDP and TCP, for the TURN listener.
func freePort(t *testing.T) string { return strconv.Itoa(duettest.FreeTURNPort(t)) }

// metric reads one sample from a /metrics page, e.g. `duet_rooms{occupancy="2"}`.
func metric(t *testing.T, page, name string) float64 {
	t.Helper()
	for _, line := range strings.Split(page, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("no %s in metrics", name)
	return 0
}

func TestHealthAndMetricsMove(t *testing.T) {
	pprofAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(duettest.FreePort(t)))
	url, _ := startDuet(t, "--turn-listen", "127.0.0.1:"+freePort(t), "--conn-rate", "1000", "--pprof-listen", pprofAddr)
	if page := duettest.Get(t, "http://"+pprofAddr+"/debug/pprof/"); !strings.Contains(page, "goroutine") {
		t.Errorf("no profiler on --pprof-listen: %.200s", page)
	}
	var health map[string]string
	if err := json.Unmarshal([]byte(duettest.Get(t, url+"/healthz")), &health); err != nil || health["status"] != "ok" || health["turn"] != "ok" {
		t.Fatalf("healthz: %v %v", health, err)
	}
	before := duettest.Get(t, url+"/metrics")
	offer := json.RawMessage(`{"type":"offer","sdp":"v=0"}`)
	siotest.Run(t, url, 4, []string{"websocket"},
		siotest.Connect("a"), siotest.Connect("b"), siotest.Connect("c"),
		siotest.Emit("a", "join", "m"), siotest.Expect("a", "joined", "m", "$a"),
		siotest.Emit("b", "join", "m"), siotest.Expect("b", "joined", "m", "$b"),
		siotest.Emit("c", "join", "m"), siotest.Expect("c", "full", "m", "$c"),
		siotest.Emit("a", "message", "m", offer), siotest.Expect("b", "message", "m", offer),
		siotest.Emit("c", "leave", "m"), siotest.Expect("c", "error", siotest.Refused("leave", "not_in_room")),
		siotest.Emit("a", "leave", "m"), siotest.Expect("b", "bye", "m", "$a"),
	)
	after := duettest.Get(t, url+"/metrics")
	for name, delta := range map[string]float64{
		"duet_joins_total": 2, "duet_fulls_total": 1, "duet_messages_relayed_total": 1,
		"duet_byes_total": 1, "duet_events_refused_total": 1,
	} {
		if got := metric(t, after, name) - metric(t, before, name); got != delta {
			t.Errorf("%s moved by %v, want %v", name, got, delta)
		}
	}
	for _, name := range []string{"duet_sockets_connected", `duet_rooms{occupancy="1"}`, "duet_turn_allocations", "go_goroutines"} {
		metric(t, after, name)
	}
}

// holdClients starts two socket.io clients paired in room; they print how they were disconnected.
func holdClients(t *testing.T, url, room string) (lines <-chan string) {
	t.Helper()
	cmd := exec.Command("node", "testdata/hold.cjs", url, room)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	ch := make(chan string, 8)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			ch <- sc.Text()
		}
		close(ch)
	}()
	if line := <-ch; line != "ready" {
		t.Fatalf("clients: %q", line)
	}
	return ch
}

// expectCleanDisconnects reads both clients' disconnect lines: the server closed the transport, so
// socket.io-client reconnects by itself (it would not after "io server disconnect" or a ping timeout).
func expectCleanDisconnects(t *testing.T, lines <-chan string) {
	t.Helper()
	for range 2 {
		select {
		case line := <-lines:
			if !strings.HasPrefix(line, "disconnect ") || !strings.HasSuffix(line, " transport close") {
				t.Errorf("client: %q, want a transport close", line)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("clients were not disconnected")
		}
	}
}

func TestGracefulShutdown(t *testing.T) {
	base := runtime.NumGoroutine()
	url, stop := startDuet(t, "--turn-listen", "127.0.0.1:"+freePort(t), "--shutdown-timeout", "5s")
	lines := holdClients(t, url, "graceful")
	if err := stop(); err != nil {
		t.Fatalf("run returned %v", err)
	}
	expectCleanDisconnects(t, lines)
	if _, err := duettest.Insecure.Get(url + "/healthz"); err == nil {
		t.Error("still serving after shutdown")
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > base+2 {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines left, %d before:\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSIGTERM stops the real binary as systemd does: exit status 0, clients cleanly disconnected.
func TestSIGTERM(t *testing.T) {
	d := duettest.Start(t, duettest.Binary(t), "--listen", "127.0.0.1:0", "--turn-listen", "127.0.0.1:"+freePort(t))
	lines := holdClients(t, d.URL, "sigterm")
	done := make(chan error, 1)
	go func() { done <- d.Stop(20 * time.Second) }()
	expectCleanDisconnects(t, lines)
	if err := <-done; err != nil {
		t.Fatalf("%v\n%s", err, d.Logs)
	}
	if !strings.Contains(d.Logs.String(), `msg=stopped`) {
		t.Errorf("no clean stop in the log:\n%s", d.Logs)
	}
}

// TestSlowHeaders checks a client that never finishes its request headers is cut off.
func TestSlowHeaders(t *testing.T) {
	t.Parallel()
	url, _ := startDuet(t, "--turn-listen", "")
	conn, err := tls.Dial("tcp", strings.TrimPrefix(url, "https://"), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: "); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	_, err = io.ReadAll(conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the server kept a half-sent request open for a minute")
	}
}

// iceServers fetches what /api/ice-servers hands a page.
func iceServers(t *testing.T, url string) (ice struct {
	ICEServers []struct {
		URLs       []string `json:"urls"`
		Username   string   `json:"username"`
		Credential string   `json:"credential"`
	} `json:"iceServers"`
	TTL int `json:"ttl"`
}) {
	t.Helper()
	if err := json.Unmarshal([]byte(duettest.Get(t, url+"/api/ice-servers")), &ice); err != nil {
		t.Fatal(err)
	}
	return ice
}

// TestIssuedCredentials relays coturn's own client through the embedded TURN with the credentials
// /api/ice-servers hands a page, and checks that forged credentials and denied peers fail.
func TestIssuedCredentials(t *testing.T) {
	uclient, err := exec.LookPath("turnutils_uclient")
	if err != nil {
		t.Fatal("turnutils_uclient not found: apt-get install coturn (make test does)")
	}
	relay := func(port, user, pass string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, _ := exec.CommandContext(ctx, uclient, "-y", "-m", "2", "-n", "100", "-l", "500", "-z", "5",
			"-u", user, "-w", pass, "-p", port, "127.0.0.1").CombinedOutput()
		return string(out)
	}
	const relayed = "Total lost packets 0 (0.000000%)"

	port, denyPort := freePort(t), freePort(t)
	url, _ := startDuet(t, "--turn-listen", "127.0.0.1:"+port, "--public-ip", "127.0.0.1", "--turn-allow-peer", "127.0.0.0/8")
	ice := iceServers(t, url)
	if len(ice.ICEServers) != 2 || ice.TTL != 86400 || ice.ICEServers[1].URLs[0] != "turn:127.0.0.1:"+port+"?transport=udp" {
		t.Fatalf("ice servers: %+v", ice)
	}
	user, pass := ice.ICEServers[1].Username, ice.ICEServers[1].Credential
	if out := relay(port, user, pass); !strings.Contains(out, relayed) {
		t.Fatalf("relay with issued credentials failed:\n%s", out)
	}
	if out := relay(port, user, "Zm9yZ2VkIHBhc3N3b3Jk"); strings.Contains(out, relayed) || !strings.Contains(out, "Cannot complete Allocation") {
		t.Fatalf("a forged password was not refused:\n%s", out)
	}
	// Without --turn-allow-peer the relay refuses loopback peers: the SSRF path into a VM's own network.
	denyURL, _ := startDuet(t, "--turn-listen", "127.0.0.1:"+denyPort, "--public-ip", "127.0.0.1")
	deny := iceServers(t, denyURL).ICEServers[1]
	if out := relay(denyPort, deny.Username, deny.Credential); strings.Contains(out, relayed) || !strings.Contains(out, "channel bind: error") {
		t.Fatalf("a loopback peer was not refused:\n%s", out)
	}
}

// TestTURNOverTLSOnHTTPSPort: with --turns-on-https the HTTPS port also carries TURN over TLS:
// /api/ice-servers lists it last, coturn's client relays through it with the issued credentials,
// the page is still served over HTTP/2 on the same port, and duet stops cleanly.
func TestTURNOverTLSOnHTTPSPort(t *testing.T) {
	uclient, err := exec.LookPath("turnutils_uclient")
	if err != nil {
		t.Fatal("turnutils_uclient not found: apt-get install coturn (make test does)")
	}
	url, stop := startDuet(t, "--turns-on-https", "on", "--turn-listen", "127.0.0.1:"+freePort(t),
		"--public-ip", "127.0.0.1", "--turn-allow-peer", "127.0.0.0/8")
	_, httpsPort, _ := net.SplitHostPort(strings.TrimPrefix(url, "https://"))
	ice := iceServers(t, url)
	urls := ice.ICEServers[1].URLs
	if want := "turns:127.0.0.1:" + httpsPort + "?transport=tcp"; len(urls) != 3 || urls[2] != want {
		t.Fatalf("turn URLs %q, want the udp and tcp ones then %s", urls, want)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, uclient, "-t", "-S", "-y", "-m", "2", "-n", "100", "-l", "500", "-z", "5",
		"-u", ice.ICEServers[1].Username, "-w", ice.ICEServers[1].Credential, "-p", httpsPort, "127.0.0.1").CombinedOutput()
	if !strings.Contains(string(out), "Total lost packets 0 (0.000000%)") {
		t.Fatalf("relay over TLS on the HTTPS port failed:\n%s", out)
	}
	c, err := tls.Dial("tcp", "127.0.0.1:"+httpsPort, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2", "http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	if p := c.ConnectionState().NegotiatedProtocol; p != "h2" {
		t.Errorf("the HTTPS port negotiated %q, want h2", p)
	}
	c.Close()
	if page := duettest.Get(t, url+"/healthz"); !strings.Contains(page, `"turn":"ok"`) {
		t.Errorf("healthz: %s", page)
	}
	if err := stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
}
