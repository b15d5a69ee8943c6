package turn

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/pion/turn/v5"
)

func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func TestTLSAllocation(t *testing.T) {
	cfg := testConfig()
	cfg.TLSListen = "127.0.0.1:0"
	cfg.TLSConfig = &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}}
	s := startServer(t, cfg)

	conn, err := tls.Dial("tcp", s.TLSAddr().String(), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // self-signed test cert
	if err != nil {
		t.Fatal(err)
	}
	u, p := creds("tls")
	c, err := turn.NewClient(&turn.ClientConfig{
		STUNServerAddr: s.TLSAddr().String(),
		TURNServerAddr: s.TLSAddr().String(),
		Conn:           turn.NewSTUNConn(conn),
		Username:       u,
		Password:       p,
		LoggerFactory:  pionLogs{testLogger()},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	defer conn.Close()
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	relayToPeer(t, c, 'T', 'p')
}
