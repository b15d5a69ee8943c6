package turn

import (
	"testing"
	"time"
)

// BenchmarkCheckCredentials is the REST credential check every authenticated TURN request pays
// (pion calls the auth handler per Allocate, Refresh, CreatePermission and ChannelBind).
func BenchmarkCheckCredentials(b *testing.B) {
	secret := []byte("bench-secret")
	now := time.Now()
	username, _ := Credentials(secret, "bench-user", now.Add(time.Hour))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := checkCredentials(secret, "duet", username, "duet", DefaultTTL, now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseRESTUsername(b *testing.B) {
	username, _ := Credentials([]byte("s"), "bench-user", time.Now().Add(time.Hour))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := parseRESTUsername(username); err != nil {
			b.Fatal(err)
		}
	}
}
