package duettest

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"time"

	"duet/internal/certs"
)

// WriteCert writes a self-signed certificate for localhost, 127.0.0.1 and ::1 (duet's own kind,
// ECDSA P-256) and its key as PEM files into dir, for --tls-cert and --tls-key.
func WriteCert(dir string) (certFile, keyFile string, err error) {
	cert, err := certs.SelfSigned([]string{"localhost", "127.0.0.1", "::1"}, time.Now())
	if err != nil {
		return "", "", err
	}
	key, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		return "", "", err
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	err = errors.Join(
		os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600),
		os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}), 0o600))
	return certFile, keyFile, err
}
