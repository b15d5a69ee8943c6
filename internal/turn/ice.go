package turn

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// ICEServers is the body of GET /api/ice-servers; the iceServers member goes
// straight into new RTCPeerConnection({iceServers}).
type ICEServers struct {
	ICEServers []ICEServer `json:"iceServers"`
	TTL        int64       `json:"ttl"` // seconds the credentials stay valid
}

// ICEServer mirrors the browser's RTCIceServer dictionary.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// ICEServers returns the servers a browser should use, with fresh REST credentials for user.
// host is the host the page was requested on (a port or IPv6 brackets are tolerated).
func (c Config) ICEServers(host string, user string, now time.Time) ICEServers {
	c = c.withDefaults()
	out := ICEServers{ICEServers: []ICEServer{}, TTL: int64(c.TTL / time.Second)}
	username, password := Credentials(c.Secret, user, now.Add(c.TTL))

	if len(c.URLs) > 0 {
		var stun, turn []string
		for _, u := range c.URLs {
			if strings.HasPrefix(u, "turn:") || strings.HasPrefix(u, "turns:") {
				turn = append(turn, u)
			} else {
				stun = append(stun, u)
			}
		}
		if len(stun) > 0 {
			out.ICEServers = append(out.ICEServers, ICEServer{URLs: stun})
		}
		if len(turn) > 0 {
			out.ICEServers = append(out.ICEServers, ICEServer{URLs: turn, Username: username, Credential: password})
		}
		return out
	}
	if c.Listen == "" {
		return out
	}

	name := urlHost(host)
	addr := name
	if c.PublicIP.IsValid() {
		addr = urlHost(c.PublicIP.String())
	}
	port, err := listenPort(c.Listen)
	if addr == "" || err != nil {
		return out
	}
	hp := addr + ":" + strconv.Itoa(int(port))
	out.ICEServers = append(out.ICEServers, ICEServer{URLs: []string{"stun:" + hp}})
	turn := ICEServer{
		URLs:       []string{"turn:" + hp + "?transport=udp", "turn:" + hp + "?transport=tcp"},
		Username:   username,
		Credential: password,
	}
	// The certificate names the page's host, so turns: uses it rather than a bare PublicIP.
	tlsHost := addr
	if name != "" && !isIPLiteral(name) {
		tlsHost = name
	}
	if tlsPort, err := listenPort(c.TLSListen); c.TLSListen != "" && err == nil {
		turn.URLs = append(turn.URLs, "turns:"+tlsHost+":"+strconv.Itoa(int(tlsPort))+"?transport=tcp")
	}
	// Last: over TLS on the HTTPS port, the way out of networks that let only TCP 443 through.
	if ta, ok := addrOf(c.TLSListener).(*net.TCPAddr); ok {
		turn.URLs = append(turn.URLs, "turns:"+tlsHost+":"+strconv.Itoa(ta.Port)+"?transport=tcp")
	}
	out.ICEServers = append(out.ICEServers, turn)
	return out
}

// urlHost normalises a request host for a STUN/TURN URI: no port, brackets around IPv6.
func urlHost(host string) string {
	host = strings.TrimSpace(host)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if a, err := netip.ParseAddr(host); err == nil {
		// Zones are meaningless to a remote browser and would need %25 escaping.
		a = a.WithZone("")
		if a.Is6() && !a.Is4In6() {
			return "[" + a.String() + "]"
		}
		return a.Unmap().String()
	}
	return host
}

func isIPLiteral(host string) bool {
	return strings.HasPrefix(host, "[") || net.ParseIP(host) != nil
}
