package check

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// iceServers is the body of GET /api/ice-servers (internal/turn.ICEServers), read as a browser would.
type iceServers struct {
	ICEServers []iceServer `json:"iceServers"`
	TTL        int64       `json:"ttl"`
}

// iceServer is an RTCIceServer: urls is a string or a list of strings.
type iceServer struct {
	URLs       urlList `json:"urls"`
	Username   string  `json:"username"`
	Credential string  `json:"credential"`
}

type urlList []string

func (u *urlList) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*u = urlList{one}
		return nil
	}
	return json.Unmarshal(b, (*[]string)(u))
}

// iceURL is a parsed stun:, turn: or turns: URI (RFC 7064, RFC 7065).
type iceURL struct {
	raw       string
	secure    bool   // stuns: or turns:
	turn      bool   // turn: or turns:
	host      string // no brackets
	port      string
	transport string // "udp" or "tcp"
}

// addr is host:port for dialing.
func (u iceURL) addr() string { return net.JoinHostPort(u.host, u.port) }

// kind names the way a browser reaches the server: UDP, TCP or TLS.
func (u iceURL) kind() string {
	switch {
	case u.secure:
		return "TLS"
	case u.transport == "tcp":
		return "TCP"
	}
	return "UDP"
}

func parseICEURL(raw string) (iceURL, error) {
	u := iceURL{raw: raw, transport: "udp"}
	scheme, rest, ok := strings.Cut(raw, ":")
	switch scheme {
	case "stun", "turn":
		u.port = "3478"
	case "stuns", "turns":
		u.secure, u.port, u.transport = true, "5349", "tcp"
	default:
		ok = false
	}
	if !ok {
		return u, fmt.Errorf("%q is not a stun:, turn: or turns: URL", raw)
	}
	u.turn = strings.HasPrefix(scheme, "turn")
	hostport, query, _ := strings.Cut(rest, "?")
	if query != "" {
		t, found := strings.CutPrefix(query, "transport=")
		if !found || !u.turn || (t != "udp" && t != "tcp") {
			return u, fmt.Errorf("%q: only turn URLs take ?transport=udp or tcp", raw)
		}
		u.transport = t
	}
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		u.host, u.port = h, p
	} else {
		u.host = strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]")
	}
	if n, err := strconv.Atoi(u.port); u.host == "" || err != nil || n < 1 || n > 65535 {
		return u, fmt.Errorf("%q: bad host or port", raw)
	}
	return u, nil
}

// fetchICE gets fresh servers and credentials, as each page does before a call.
func (r *run) fetchICE(ctx context.Context) (*iceServers, error) {
	var s iceServers
	if err := r.get(ctx, "/api/ice-servers", &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// iceServers is the ICE servers step: the list parses, the TURN credentials are well formed.
func (r *run) iceServers(ctx context.Context) (string, error) {
	s, err := r.fetchICE(ctx)
	if err != nil {
		return "", err
	}
	if err := validateICE(s, time.Now()); err != nil {
		return "", err
	}
	r.ice = s
	var urls []string
	for _, e := range s.ICEServers {
		urls = append(urls, e.URLs...)
	}
	if len(urls) == 0 {
		return "no STUN or TURN server listed", nil
	}
	return fmt.Sprintf("%s; credentials valid %s (ttl %d s)", strings.Join(urls, ", "), time.Duration(s.TTL)*time.Second, s.TTL), nil
}

// validateICE checks what a browser would choke on, and the TURN REST credential scheme
// (username "expiry:user", credential base64(HMAC-SHA1)) that duet's relay and coturn expect.
func validateICE(s *iceServers, now time.Time) error {
	const cause = "the server hands out ICE servers browsers cannot use"
	if s.TTL < 60 || s.TTL > 7*24*3600 {
		return fail(fmt.Sprintf("ttl is %d s", s.TTL), "credentials must outlive a call but not stay valid for weeks",
			"set --turn-ttl between 1m and 168h (24h is the default)")
	}
	for _, e := range s.ICEServers {
		if len(e.URLs) == 0 {
			return fail("an iceServers entry has no urls", cause, "check --turn-urls")
		}
		hasTURN := false
		for _, raw := range e.URLs {
			u, err := parseICEURL(raw)
			if err != nil {
				return fail("iceServers lists "+err.Error(), cause, "fix --turn-urls")
			}
			hasTURN = hasTURN || u.turn
		}
		if !hasTURN {
			continue
		}
		if e.Username == "" || e.Credential == "" {
			return fail("the TURN entry "+strings.Join(e.URLs, ", ")+" has no username or credential",
				"browsers refuse a TURN server without credentials", "set --turn-secret")
		}
		expiry, user, ok := strings.Cut(e.Username, ":")
		t, err := strconv.ParseInt(expiry, 10, 64)
		if !ok || err != nil || user == "" {
			return fail(fmt.Sprintf("TURN username %q is not expiry:user", e.Username),
				"it is not a TURN REST API credential", "let duet issue them (--turn-secret)")
		}
		if left := time.Unix(t, 0).Sub(now); left <= 0 {
			return fail(fmt.Sprintf("the TURN credentials expired %s ago", (-left).Round(time.Second)),
				"the server's clock is wrong", "fix its clock (NTP)")
		}
		if b, err := base64.StdEncoding.DecodeString(e.Credential); err != nil || len(b) != 20 {
			return fail("the TURN credential is not base64 of an HMAC-SHA1",
				"it is not a TURN REST API credential", "let duet issue them (--turn-secret)")
		}
	}
	return nil
}
