package web_test

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestPageAssets: the icon and manifest the pages link to are served with their types, so no visit ends in a 404.
func TestPageAssets(t *testing.T) {
	s := startServer(t)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	get := func(path string) (string, []byte) {
		t.Helper()
		res, err := client.Get(s.baseURL("127.0.0.1") + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s", path, res.Status)
		}
		return res.Header.Get("Content-Type"), body
	}
	for _, page := range []string{"/", "/room.html"} {
		_, html := get(page)
		for _, link := range []string{`<link rel="icon" href="/icons/duet.svg"`, `<link rel="manifest" href="/manifest.json">`, `<meta name="theme-color"`} {
			if !strings.Contains(string(html), link) {
				t.Errorf("%s lacks %s", page, link)
			}
		}
	}
	if ct, _ := get("/icons/duet.svg"); ct != "image/svg+xml" {
		t.Errorf("icon served as %q", ct)
	}
	ct, body := get("/manifest.json")
	if !strings.HasPrefix(ct, "application/json") {
		t.Errorf("manifest served as %q", ct)
	}
	var m struct {
		Name  string `json:"name"`
		Icons []struct {
			Src string `json:"src"`
		} `json:"icons"`
	}
	if err := json.Unmarshal(body, &m); err != nil || m.Name != "duet" || len(m.Icons) == 0 || m.Icons[0].Src != "/icons/duet.svg" {
		t.Errorf("manifest %s: %+v %v", body, m, err)
	}
}
