package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"duet/internal/duettest"
)

// proc is a server process the benchmark started.
type proc struct {
	*duettest.Process
	name    string
	addr    string        // https host:port once listening ("" for coturn and redis-server)
	startup time.Duration // from exec to the first 200 from /healthz (HTTPS servers)
}

// lastLines is the end of its output, for error messages.
func (p *proc) lastLines() string {
	lines := strings.Split(strings.TrimRight(p.Logs.String(), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-30):], "\n")
}

// listeningRE is the line duet and the Node peer log once they serve HTTPS.
var listeningRE = regexp.MustCompile(`https listening"? addr=(\S+)`)

// startProc runs argv in dir with the benchmark's environment (DUET_TURN_BATCH=off reaches duet)
// and, given ready (a regexp whose first group, if any, is the HTTPS address), waits up to timeout
// for it and for /healthz.
func startProc(name string, ready *regexp.Regexp, timeout time.Duration, dir string, argv ...string) (*proc, error) {
	t0 := time.Now()
	dp, err := duettest.Launch(dir, nil, argv...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	p := &proc{Process: dp, name: name}
	if ready != nil {
		m, err := dp.WaitFor(ready, timeout)
		if err != nil {
			p.Kill()
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if len(m) > 1 {
			p.addr = m[1]
			if err := waitHealthy(p.addr, timeout); err != nil {
				p.stop()
				return nil, fmt.Errorf("%s: %w", name, err)
			}
		}
	}
	p.startup = time.Since(t0)
	return p, nil
}

var insecure = &http.Client{
	Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true}, //nolint:gosec // loopback, self-signed
	Timeout:   2 * time.Second,
}

func waitHealthy(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		resp, err := insecure.Get("https://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("/healthz not OK within %v: %v", timeout, err)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// stop sends SIGTERM, then SIGKILL after 10 s.
func (p *proc) stop() {
	if p == nil {
		return
	}
	if err := p.Stop(10 * time.Second); err != nil {
		p.Kill() // a no-op when it has exited, with whatever status
	}
}

// env is what the suite runs servers with.
type env struct {
	duet, root, tmp string
	cert, key       string
}

// duetSignalArgs lift the per-IP limits, which a load generator on one host would hit at once.
var duetSignalArgs = []string{"--conn-rate", "100000", "--event-rate", "1000000", "--max-conn-per-ip", "1000000"}

func (e *env) startDuet(extra ...string) (*proc, error) {
	argv := append([]string{e.duet, "--listen", "127.0.0.1:0", "--tls-cert", e.cert, "--tls-key", e.key}, extra...)
	return startProc("duet", listeningRE, 20*time.Second, e.root, argv...)
}

func (e *env) startNode() (*proc, error) {
	return startProc("node", listeningRE, 20*time.Second, e.root, "node", filepath.Join("bench", "peers", "server.js"),
		"--listen", "127.0.0.1:0", "--cert", e.cert, "--key", e.key)
}

// ensureNodeDeps installs bench/peers' packages (npm ci) when they are missing.
func ensureNodeDeps(ctx context.Context, root string) error {
	dir := filepath.Join(root, "bench", "peers")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "socket.io", "package.json")); err == nil {
		return nil
	}
	out, err := exec.CommandContext(ctx, "npm", "ci", "--prefix", dir, "--no-audit", "--no-fund", "--loglevel=error").CombinedOutput()
	if err != nil {
		return fmt.Errorf("npm ci in %s: %w\n%s", dir, err, out)
	}
	return nil
}
