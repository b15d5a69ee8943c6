package duettest

import (
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// Coturn is a coturn turnserver for LaunchCoturn: TURN REST credentials from Secret (realm duet),
// UDP and TCP on 127.0.0.1:Port, relays on 127.0.0.1 ports MinPort–MaxPort, loopback peers allowed,
// no TLS; its pid file and database go into Dir.
type Coturn struct {
	Port, MinPort, MaxPort int
	Secret, Dir            string
}

// LaunchCoturn starts coturn (no configuration file of the system's) and waits up to 10 s until it
// answers a STUN Binding request.
func LaunchCoturn(c Coturn) (*Process, error) {
	if _, err := exec.LookPath("turnserver"); err != nil {
		return nil, fmt.Errorf("coturn's turnserver is not installed: apt-get install coturn (`make test` installs it through scripts/test-deps.sh)")
	}
	p, err := Launch(c.Dir, nil, "turnserver", "-n", "--no-cli", "--no-tls", "--no-dtls", "--log-file=stdout", "--simple-log",
		"--listening-ip=127.0.0.1", "--listening-port="+strconv.Itoa(c.Port), "--relay-ip=127.0.0.1",
		"--min-port="+strconv.Itoa(c.MinPort), "--max-port="+strconv.Itoa(c.MaxPort), "--allow-loopback-peers",
		"--use-auth-secret", "--static-auth-secret="+c.Secret, "--realm=duet",
		"--pidfile="+filepath.Join(c.Dir, "turnserver.pid"), "--db="+filepath.Join(c.Dir, "turndb"))
	if err != nil {
		return nil, err
	}
	if err := STUNReady(c.Port, 10*time.Second); err != nil {
		p.Kill()
		return nil, fmt.Errorf("coturn: %w\n%s", err, p.Logs)
	}
	return p, nil
}

// STUNReady sends STUN Binding requests to 127.0.0.1:port over UDP until one is answered.
func STUNReady(port int, timeout time.Duration) error {
	conn, err := net.Dial("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return err
	}
	defer conn.Close()
	// A Binding request: type 0x0001, no attributes, the magic cookie, a fixed transaction id.
	req := []byte{0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	buf := make([]byte, 1500)
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); {
		_, _ = conn.Write(req)
		_ = conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if n, err := conn.Read(buf); err == nil && n >= 20 && buf[0] == 1 && buf[1] == 1 { // a Binding success
			return nil
		}
	}
	return fmt.Errorf("no STUN answer on udp port %d within %v", port, timeout)
}
