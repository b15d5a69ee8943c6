package duettest

import (
	"crypto/tls"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestWaitFor(t *testing.T) {
	re := regexp.MustCompile(`listening addr=(\S+)`)
	tests := []struct {
		name, script string
		timeout      time.Duration
		want, err    string // the first group, or what the error says
	}{
		{"printed after a while", `sleep 0.2; echo "listening addr=127.0.0.1:5"; while :; do sleep 0.05; done`, 10 * time.Second, "127.0.0.1:5", ""},
		{"printed, then exited", `echo "listening addr=[::1]:7"`, 10 * time.Second, "[::1]:7", ""},
		{"exited without it", `echo "bind: address already in use"; exit 1`, 10 * time.Second, "", "address already in use"},
		{"never printed", `while :; do sleep 0.05; done`, 300 * time.Millisecond, "", "did not print"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Launch("", nil, "sh", "-c", tt.script)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Kill()
			m, err := p.WaitFor(re, tt.timeout)
			switch {
			case tt.err == "" && (err != nil || m[1] != tt.want):
				t.Errorf("WaitFor = %q, %v; want %q", m, err, tt.want)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Errorf("WaitFor = %q, %v; want an error saying %q", m, err, tt.err)
			}
		})
	}
}

func TestStop(t *testing.T) {
	tests := []struct {
		script string
		ok     bool
	}{
		{`trap 'exit 0' TERM; echo ready; while :; do sleep 0.05; done`, true},
		{`trap 'exit 3' TERM; echo ready; while :; do sleep 0.05; done`, false},
	}
	for _, tt := range tests {
		p, err := Launch("", nil, "sh", "-c", tt.script)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.WaitFor(regexp.MustCompile("ready"), 10*time.Second); err != nil {
			t.Fatal(err)
		}
		if err := p.Stop(10 * time.Second); (err == nil) != tt.ok {
			t.Errorf("%s: Stop = %v, want success %v", tt.script, err, tt.ok)
		}
		p.Kill()
	}
}

func TestProcReadings(t *testing.T) {
	self := os.Getpid()
	if _, err := CPUSeconds(self); err != nil {
		t.Errorf("CPUSeconds: %v", err)
	}
	for _, field := range []string{"VmRSS", "VmHWM", "Threads"} {
		if n, err := Status(self, field); err != nil || n <= 0 {
			t.Errorf("Status(%s) = %d, %v", field, n, err)
		}
	}
	if n, err := OpenFiles(self); err != nil || n < 3 {
		t.Errorf("OpenFiles = %d, %v", n, err)
	}
	if _, err := Status(self, "NoSuchField"); err == nil {
		t.Error("Status of a missing field: no error")
	}
	if _, err := CPUSeconds(1 << 30); err == nil {
		t.Error("CPUSeconds of no process: no error")
	}
}

func TestWriteCert(t *testing.T) {
	certFile, keyFile, err := WriteCert(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"localhost", "127.0.0.1", "::1"} {
		if err := cert.Leaf.VerifyHostname(host); err != nil {
			t.Errorf("%s: %v", host, err)
		}
	}
}

func TestFreeUDPTCPPort(t *testing.T) {
	port, err := FreeUDPTCPPort()
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	u, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
}

// TestLaunchCoturn: coturn answers STUN once launched, and not after Kill.
func TestLaunchCoturn(t *testing.T) {
	port, err := FreeUDPTCPPort()
	if err != nil {
		t.Fatal(err)
	}
	p, err := LaunchCoturn(Coturn{Port: port, MinPort: 41000, MaxPort: 41099, Secret: "s", Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	p.Kill()
	if err := STUNReady(port, 300*time.Millisecond); err == nil {
		t.Error("a STUN answer after Kill")
	}
}
