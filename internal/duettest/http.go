package duettest

import (
	"crypto/tls"
	"io"
	"net/http"
	"testing"
	"time"
)

// Insecure is an HTTP client that accepts duet's self-signed certificate.
var Insecure = &http.Client{
	Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
	Timeout:   10 * time.Second,
}

// Get fetches url and returns the body; anything but 200 fails the test.
func Get(t testing.TB, url string) string {
	t.Helper()
	resp, err := Insecure.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s\n%s", url, resp.Status, b)
	}
	return string(b)
}
