package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a server process the benchmark started.
type proc struct {
	name    string
	cmd     *exec.Cmd
	addr    string        // https host:port once listening ("" for coturn)
	startup time.Duration // from exec to the first 200 from /healthz (HTTPS servers)
	mu      sync.Mutex
	tail    []string // last lines of its output, for error messages
	exited  chan struct{}
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) lastLines() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.tail, "\n")
}

var listeningRE = regexp.MustCompile(`https listening"? addr=(\S+)`)

// startProc runs argv, scans its output for ready (a regexp whose first group, if any, is the address)
// and waits for it up to timeout.
func startProc(name string, ready *regexp.Regexp, timeout time.Duration, dir string, argv ...string) (*proc, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	p := &proc{name: name, cmd: cmd, exited: make(chan struct{})}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.tail = append(p.tail, line)
			if len(p.tail) > 30 {
				p.tail = p.tail[1:]
			}
			p.mu.Unlock()
			if ready == nil {
				continue
			}
			if m := ready.FindStringSubmatch(line); m != nil {
				a := ""
				if len(m) > 1 {
					a = m[1]
				}
				select {
				case found <- a:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	go func() { _ = cmd.Wait(); pw.Close(); close(p.exited) }()
	if ready == nil {
		p.startup = time.Since(t0)
		return p, nil
	}
	select {
	case p.addr = <-found:
	case <-p.exited:
		return nil, fmt.Errorf("%s exited before it was ready:\n%s", name, p.lastLines())
	case <-time.After(timeout):
		p.stop()
		return nil, fmt.Errorf("%s not ready within %v:\n%s", name, timeout, p.lastLines())
	}
	if p.addr != "" {
		if err := waitHealthy(p.addr, timeout); err != nil {
			p.stop()
			return nil, fmt.Errorf("%s: %w", name, err)
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
	if p == nil || p.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-p.pid(), syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-p.pid(), syscall.SIGKILL)
		<-p.exited
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

// writeCert writes one self-signed ECDSA P-256 certificate for localhost that both HTTPS servers use,
// so their TLS handshakes cost the same.
func writeCert(dir string) (certFile, keyFile string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(30 * 24 * time.Hour),
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", err
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", "", err
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	err = errors.Join(
		os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600),
		os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600))
	return certFile, keyFile, err
}

// freePort returns a port free for both UDP and TCP on 127.0.0.1 (racy, fine on a quiet box).
func freePort() (int, error) {
	for range 20 {
		u, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := u.LocalAddr().(*net.UDPAddr).Port
		t, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		u.Close()
		if err == nil {
			t.Close()
			return port, nil
		}
	}
	return 0, errors.New("no port free for both UDP and TCP")
}
