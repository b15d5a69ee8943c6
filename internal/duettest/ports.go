package duettest

import (
	"errors"
	"net"
	"strconv"
	"testing"
)

// FreeTCPPort returns a loopback TCP port free now, for a server started (and maybe restarted) on it.
func FreeTCPPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// FreeUDPTCPPort returns a loopback port free for both UDP and TCP now: a TURN server listens on both.
func FreeUDPTCPPort() (int, error) {
	for range 50 {
		u, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := u.LocalAddr().(*net.UDPAddr).Port
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		u.Close()
		if err == nil {
			l.Close()
			return port, nil
		}
	}
	return 0, errors.New("no loopback port free for both UDP and TCP")
}

// FreePort is FreeTCPPort for a test.
func FreePort(t testing.TB) int {
	t.Helper()
	return port(t, FreeTCPPort)
}

// FreeTURNPort is FreeUDPTCPPort for a test.
func FreeTURNPort(t testing.TB) int {
	t.Helper()
	return port(t, FreeUDPTCPPort)
}

func port(t testing.TB, free func() (int, error)) int {
	t.Helper()
	p, err := free()
	if err != nil {
		t.Fatal(err)
	}
	return p
}
