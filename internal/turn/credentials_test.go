package turn

import (
	"crypto/hmac"
	"crypto/md5"  //nolint:gosec // RFC 5389 long-term key, recomputed independently.
	"crypto/sha1" //nolint:gosec // TURN REST API HMAC, recomputed independently.
	"encoding/base64"
	"fmt"
	"testing"
	"time"
)

func TestCredentials(t *testing.T) {
	tests := []struct {
		secret, user string
		expiry       int64
		wantUser     string
		wantPass     string // "" = compute with crypto/hmac below
	}{
		// Reference value from: printf '1700000000:alice' | openssl dgst -sha1 -hmac north -binary | base64
		{"north", "alice", 1700000000, "1700000000:alice", "Cd/49soE35ICqcJF/bCTn8Z4OyE="},
		{"s3cret", "a:b", 1, "1:a:b", ""},
		{"", "", 0, "0:", ""},
	}
	for _, tt := range tests {
		u, p := Credentials([]byte(tt.secret), tt.user, time.Unix(tt.expiry, 0))
		want := tt.wantPass
		if want == "" {
			m := hmac.New(sha1.New, []byte(tt.secret))
			m.Write([]byte(tt.wantUser))
			want = base64.StdEncoding.EncodeToString(m.Sum(nil))
		}
		if u != tt.wantUser || p != want {
			t.Errorf("Credentials(%q, %q, %d) = %q, %q; want %q, %q", tt.secret, tt.user, tt.expiry, u, p, tt.wantUser, want)
		}
	}
}

func TestParseRESTUsername(t *testing.T) {
	long := fmt.Sprintf("%0600d", 1)
	tests := []struct {
		in       string
		ok       bool
		expiry   int64
		wantUser string
	}{
		{"1700000000:alice", true, 1700000000, "alice"},
		{"1700000000:a:b", true, 1700000000, "a:b"}, // first colon separates
		{"1700000000:", true, 1700000000, ""},
		{"0001:x", true, 1, "x"},
		{"alice", false, 0, ""},
		{":alice", false, 0, ""},
		{"+1700000000:alice", false, 0, ""},
		{"-1:alice", false, 0, ""},
		{" 1700000000:alice", false, 0, ""},
		{"1e9:alice", false, 0, ""},
		{"99999999999999999999:alice", false, 0, ""},
		{"１２３:alice", false, 0, ""}, // full-width digits
		{long + ":x", false, 0, ""},
	}
	for _, tt := range tests {
		exp, user, err := parseRESTUsername(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("parseRESTUsername(%.40q) err = %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if tt.ok && (exp.Unix() != tt.expiry || user != tt.wantUser) {
			t.Errorf("parseRESTUsername(%q) = %d, %q; want %d, %q", tt.in, exp.Unix(), user, tt.expiry, tt.wantUser)
		}
	}
}

func TestCheckCredentials(t *testing.T) {
	now := time.Unix(1700000000, 0)
	secret := []byte("north")
	valid, validPass := Credentials(secret, "alice", now.Add(time.Minute))
	tests := []struct {
		name, username, realm string
		ok                    bool
		wantUserID            string
	}{
		{"valid", valid, "duet", true, "alice"},
		{"empty user keys on the whole username", "1700000060:", "duet", true, "1700000060:"},
		{"expires now", "1700000000:alice", "duet", false, ""},
		{"expired", "1699999999:alice", "duet", false, ""},
		{"other realm", valid, "evil", false, ""},
		{"no expiry", "alice", "duet", false, ""},
		{"at ttl", "1700086400:alice", "duet", true, "alice"},
		{"at ttl plus slack", "1700090000:alice", "duet", true, "alice"},
		{"past ttl plus slack", "1700090001:alice", "duet", false, ""},
		{"years ahead", "2000000000:alice", "duet", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			userID, key, err := checkCredentials(secret, "duet", tt.username, tt.realm, 24*time.Hour, now)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if !tt.ok {
				return
			}
			if userID != tt.wantUserID {
				t.Errorf("userID = %q, want %q", userID, tt.wantUserID)
			}
			if tt.username == valid {
				// RFC 5389 long-term key: MD5(username ":" realm ":" password).
				want := md5.Sum([]byte(valid + ":duet:" + validPass))
				if string(key) != string(want[:]) {
					t.Errorf("key = %x, want %x", key, want)
				}
			}
		})
	}
}

// FuzzCheckCredentials feeds untrusted USERNAME/REALM values to the auth path; it must never panic.
func FuzzCheckCredentials(f *testing.F) {
	for _, s := range []string{"1700000000:alice", "", ":", "1:", "a:1", "+5:x", "9999999999999999999:x", "0:\x00", "1700000000:a:b:c"} {
		f.Add(s, "duet")
	}
	now := time.Unix(1700000000, 0)
	f.Fuzz(func(t *testing.T, username, realm string) {
		userID, key, err := checkCredentials([]byte("k"), "duet", username, realm, time.Hour, now)
		if err != nil {
			if userID != "" || key != nil {
				t.Fatalf("error %v but userID=%q key=%x", err, userID, key)
			}
			return
		}
		exp, _, perr := parseRESTUsername(username)
		switch {
		case perr != nil:
			t.Fatalf("accepted %q that does not parse: %v", username, perr)
		case !exp.After(now):
			t.Fatalf("accepted expired %q", username)
		case exp.After(now.Add(time.Hour + expirySlack)):
			t.Fatalf("accepted %q expiring beyond the TTL", username)
		case realm != "duet":
			t.Fatalf("accepted realm %q", realm)
		case userID == "" || len(key) != md5.Size:
			t.Fatalf("accepted with userID=%q key=%x", userID, key)
		}
	})
}
