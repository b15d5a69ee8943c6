package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"duet/internal/duettest"
)

// Attacks on the HTTPS front, from loopback source addresses other than 127.0.0.1.

// getFrom fetches url from ip with optional header name/value pairs.
func getFrom(t *testing.T, ip, url string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := httpFrom(ip).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestAttackMetricsPrivate: with --metrics-token, /metrics on the public port wants the token, even
// from loopback; --metrics-listen serves it apart. Before the fix anyone could read it.
func TestAttackMetricsPrivate(t *testing.T) {
	t.Parallel()
	private := "127.0.0.1:" + strconv.Itoa(duettest.FreePort(t))
	d := duettest.Start(t, duettest.Binary(t), "--listen", "127.0.0.1:0", "--turn-listen", "",
		"--metrics-token", "s3cret", "--metrics-listen", private)
	for _, tt := range []struct {
		auth   string
		status int
	}{{"", 401}, {"Bearer wrong", 401}, {"s3cret", 401}, {"Bearer s3cret", 200}} {
		resp, body := getFrom(t, "127.0.0.2", d.URL+"/metrics", "Authorization", tt.auth)
		if resp.StatusCode != tt.status || strings.Contains(body, "duet_joins_total") != (tt.status == 200) {
			t.Errorf("/metrics with Authorization %q: %s %.80q, want %d", tt.auth, resp.Status, body, tt.status)
		}
	}
	if page := duettest.Get(t, "http://"+private+"/metrics"); !strings.Contains(page, "duet_joins_total") {
		t.Errorf("no metrics on --metrics-listen: %.200s", page)
	}
}

// TestAttackICEServersRate: one address asking for credentials in a loop is told to slow down
// with a 429, a JSON error and Retry-After; another address is served meanwhile.
func TestAttackICEServersRate(t *testing.T) {
	t.Parallel()
	d := duettest.Start(t, duettest.Binary(t), "--listen", "127.0.0.1:0", "--turn-listen", "127.0.0.1:"+freePort(t))
	var last *http.Response
	var lastBody string
	served := 0
	for range 30 {
		last, lastBody = getFrom(t, "127.0.0.2", d.URL+"/api/ice-servers")
		if last.StatusCode == http.StatusOK {
			served++
		}
	}
	if served > 12 || last.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("30 requests at once from one address: %d served, the last %s", served, last.Status)
	}
	var refusal struct{ Error, Reason string }
	if err := json.Unmarshal([]byte(lastBody), &refusal); err != nil || refusal.Error != "rate_limited" {
		t.Errorf("429 body %q: %v", lastBody, err)
	}
	if s, err := strconv.Atoi(last.Header.Get("Retry-After")); err != nil || s < 1 {
		t.Errorf("Retry-After %q", last.Header.Get("Retry-After"))
	}
	if resp, _ := getFrom(t, "127.0.0.3", d.URL+"/api/ice-servers"); resp.StatusCode != http.StatusOK {
		t.Errorf("another address: %s", resp.Status)
	}
}

// TestAttackAccessLog: what one client can make duet log is bounded. Before the fix a 30 KB path
// was logged whole, and every one of 300 requests got its info line.
func TestAttackAccessLog(t *testing.T) {
	t.Parallel()
	d := duettest.Start(t, duettest.Binary(t), "--listen", "127.0.0.1:0", "--turn-listen", "")
	getFrom(t, "127.0.0.2", d.URL+"/"+strings.Repeat("A", 30000)+"?"+strings.Repeat("Q", 1000))
	for range 300 {
		getFrom(t, "127.0.0.3", d.URL+"/nope")
	}
	healthy(t, d.URL, "after the requests")
	logs := d.Logs.String()
	if strings.Contains(logs, strings.Repeat("A", 300)) || strings.Contains(logs, "QQQ") {
		t.Errorf("a long path or its query was logged whole (%d bytes of log)", len(logs))
	}
	if !strings.Contains(logs, strings.Repeat("A", 200)) {
		t.Error("the long path's request was not logged at all")
	}
	if n := strings.Count(logs, "remote=127.0.0.3"); n > 60 {
		t.Errorf("300 requests from one address made %d info lines", n)
	}
}
