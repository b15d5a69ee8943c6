package certs

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestSelfSignedCoversLocalNames(t *testing.T) {
	cfg, selfSigned, err := Load("", "")
	if err != nil || !selfSigned {
		t.Fatalf("Load() = %v, %v", selfSigned, err)
	}
	leaf := cfg.Certificates[0].Leaf
	for _, host := range []string{"localhost", "127.0.0.1", "::1"} {
		if err := leaf.VerifyHostname(host); err != nil {
			t.Errorf("%s: %v", host, err)
		}
	}
	if err := leaf.VerifyHostname("example.org"); err == nil {
		t.Error("the self-signed certificate must not cover other names")
	}
	if now := time.Now(); now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
		t.Errorf("not valid now: %v – %v", leaf.NotBefore, leaf.NotAfter)
	}
}

func TestLoadFiles(t *testing.T) {
	dir := t.TempDir()
	cert, err := SelfSigned([]string{"call.example.org"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	key, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	write := func(path, kind string, der []byte) {
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(certFile, "CERTIFICATE", cert.Certificate[0])
	write(keyFile, "PRIVATE KEY", key)

	cfg, selfSigned, err := Load(certFile, keyFile)
	if err != nil || selfSigned {
		t.Fatalf("Load(files) = %v, %v", selfSigned, err)
	}
	if len(cfg.Certificates) != 1 {
		t.Fatalf("%d certificates", len(cfg.Certificates))
	}
	if _, _, err := Load(certFile, filepath.Join(dir, "absent.pem")); err == nil {
		t.Error("a missing key file must be an error")
	}
	if _, _, err := Load(keyFile, certFile); err == nil {
		t.Error("swapped files must be an error")
	}
}
