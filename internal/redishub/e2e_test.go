package redishub_test

import (
	"bufio"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"duet/internal/duettest"
	"duet/internal/redishub"
	"duet/internal/siotest"
)

// The end-to-end tests run real duet processes (cmd/duet) sharing one redis-server, with the real
// socket.io-client from npm, and HAProxy with configs/haproxy.cfg in front of them.

// startDuet runs one duet node on a free loopback port, sharing redisURL.
func startDuet(t *testing.T, redisURL string, extra ...string) *duettest.Duet {
	t.Helper()
	return duettest.Start(t, duettest.Binary(t), append([]string{"--listen", "127.0.0.1:0", "--turn-listen", "",
		"--redis-url", redisURL, "--conn-rate", "1000", "--event-rate", "10000", "--log-level", "debug"}, extra...)...)
}

func twoNodes(t *testing.T, urlA, urlB, room, mode string) {
	t.Helper()
	cmd := exec.Command("node", "testdata/twonodes.cjs", urlA, urlB, room, mode)
	if out, err := cmd.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("twonodes.cjs %s: %v\n%s", mode, err, out)
	}
}

// Two duet processes, one Redis: callers on different nodes pair, relay and get their byes, over
// websocket and polling; /healthz and /metrics report Redis.
func TestE2ETwoDuets(t *testing.T) {
	r := duettest.StartRedis(t)
	a := startDuet(t, r.URL())
	b := startDuet(t, r.URL())
	for _, n := range []*duettest.Duet{a, b} {
		if h := duettest.Get(t, n.URL+"/healthz"); !strings.Contains(h, `"rooms":"redis ok"`) {
			t.Errorf("healthz of %s: %s, want redis ok", n.URL, h)
		}
	}
	twoNodes(t, a.URL, b.URL, "e2e-ws", "websocket")
	twoNodes(t, b.URL, a.URL, "e2e-polling", "polling")
	if m := duettest.Get(t, a.URL+"/metrics"); !strings.Contains(m, "duet_redis_up 1") {
		t.Errorf("metrics without duet_redis_up 1:\n%s", grepLines(m, "duet_"))
	}

	// Redis gone: pages still served, health says so.
	r.Kill()
	eventually(t, 15*time.Second, "healthz reports redis down", func() bool {
		return strings.Contains(duettest.Get(t, a.URL+"/healthz"), `"rooms":"redis down`)
	})
	if page := duettest.Get(t, a.URL+"/"); !strings.Contains(page, "<html") && !strings.Contains(page, "<!doctype") && !strings.Contains(page, "<!DOCTYPE") {
		t.Errorf("no page while redis is down: %.200s", page)
	}
	r.Start()
	eventually(t, 15*time.Second, "healthz reports redis back", func() bool {
		return strings.Contains(duettest.Get(t, a.URL+"/healthz"), `"rooms":"redis ok"`) && strings.Contains(duettest.Get(t, b.URL+"/healthz"), `"rooms":"redis ok"`)
	})
	twoNodes(t, a.URL, b.URL, "e2e-after-restart", "websocket")
}

// A duet node killed with SIGKILL: its caller's peer on the other node gets bye within the bound.
func TestE2ENodeKilled(t *testing.T) {
	r := duettest.StartRedis(t)
	a := startDuet(t, r.URL())
	b := startDuet(t, r.URL())
	cmd := exec.Command("node", "testdata/twonodes.cjs", a.URL, b.URL, "e2e-crash", "crash")
	var stderr duettest.LogBuffer // read on failure while the script may still write
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	lines := bufio.NewReader(stdout)
	if l, err := lines.ReadString('\n'); strings.TrimSpace(l) != "paired" {
		t.Fatalf("twonodes.cjs crash: %q %v\n%s", l, err, stderr.String())
	}
	a.Kill()
	killed := time.Now()
	if l, err := lines.ReadString('\n'); strings.TrimSpace(l) != "bye" {
		t.Fatalf("twonodes.cjs crash: %q %v\n%s", l, err, stderr.String())
	}
	bound := redishub.TTLBeats*redishub.DefaultHeartbeat + redishub.DefaultHeartbeat + redishub.DefaultOpTimeout // duet's defaults
	if took := time.Since(killed); took > bound+3*time.Second {
		t.Errorf("bye %v after the node died; documented bound %v", took, bound)
	} else {
		t.Logf("bye %v after the node died (bound %v)", took.Round(time.Millisecond), bound)
	}
}

// HAProxy with configs/haproxy.cfg (addresses swapped for loopback ones) in front of two nodes:
// websocket and polling sessions work through it.
func TestE2EHAProxy(t *testing.T) {
	haproxy, err := exec.LookPath("haproxy")
	if err != nil {
		t.Fatal("haproxy is not installed: this test needs Debian's haproxy (apt-get install haproxy; `make test` installs it through scripts/test-deps.sh)")
	}
	r := duettest.StartRedis(t)
	a := startDuet(t, r.URL())
	b := startDuet(t, r.URL())
	src, err := os.ReadFile("../../configs/haproxy.cfg")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(haproxy, "-c", "-f", "../../configs/haproxy.cfg").CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cfg := string(src)
	for old, new := range map[string]string{
		"    log /dev/log local0\n":  "",
		"    maxconn 20000\n":        "    maxconn 1000\n", // an unprivileged test cannot raise its fd limit that far
		"    bind :443\n":            "    bind 127.0.0.1:" + strconv.Itoa(port) + "\n",
		"server node1 10.0.0.11:443": "server node1 " + strings.TrimPrefix(a.URL, "https://"),
		"server node2 10.0.0.12:443": "server node2 " + strings.TrimPrefix(b.URL, "https://"),
	} {
		if !strings.Contains(cfg, old) {
			t.Fatalf("configs/haproxy.cfg has no %q", old)
		}
		cfg = strings.ReplaceAll(cfg, old, new)
	}
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &duettest.LogBuffer{}
	cmd := exec.Command(haproxy, "-db", "-f", path)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("haproxy log:\n%s", logs)
		}
	})
	lb := "https://127.0.0.1:" + strconv.Itoa(port)
	eventually(t, 15*time.Second, "haproxy forwards /healthz", func() bool {
		resp, err := duettest.Insecure.Get(lb + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	twoNodes(t, lb, lb, "lb-ws", "websocket")
	twoNodes(t, lb, lb, "lb-polling", "polling")
	// The two nodes directly and through the balancer share one room table.
	twoNodes(t, lb, a.URL, "lb-mixed-a", "websocket")
	twoNodes(t, b.URL, lb, "lb-mixed-b", "polling")
}

func grepLines(s, prefix string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// A page on node A whose network changed comes back through node B before A noticed its dead
// socket: with its resume key it takes its own seat back at once, A closes the old socket, and the
// peer (on B) hears nothing and keeps talking to it.
func TestE2EResumeOnAnotherNode(t *testing.T) {
	r := duettest.StartRedis(t)
	a := startDuet(t, r.URL())
	b := startDuet(t, r.URL())
	offer := json.RawMessage(`{"type":"offer","sdp":"v=0"}`)
	siotest.Run(t, a.URL, 4, []string{"websocket"},
		siotest.Connect("x"), siotest.Step{"connect": "y", "url": b.URL},
		siotest.Emit("x", "join", "moved", map[string]any{}), siotest.Expect("x", "joined", "moved", "$x", map[string]any{"resume": "=k"}),
		siotest.Emit("y", "join", "moved"), siotest.Expect("y", "joined", "moved", "$y"),
		siotest.Expect("x", "other_joined", "moved", "$y"), siotest.Expect("x", "otherjoin", "moved", "$y"),
		siotest.Step{"connect": "x2", "url": b.URL},
		siotest.Emit("x2", "join", "moved", map[string]any{"resume": "$k"}),
		siotest.Expect("x2", "joined", "moved", "$x2", map[string]any{"resume": "*", "resumed": true}),
		siotest.Expect("x", "disconnect", "*"),
		siotest.Quiet("y"),
		siotest.Emit("y", "message", "moved", offer), siotest.Expect("x2", "message", "moved", offer),
		siotest.Emit("x2", "message", "moved", offer), siotest.Expect("y", "message", "moved", offer),
	)
}
