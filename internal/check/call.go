package check

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"duet/internal/pionlog"
)

// Media the test call sends: about what a small video call does (5 kB frames, 30 per second).
const (
	frameBytes    = 5000
	frameInterval = time.Second / 30
	pings         = 5
)

// classic shapes of docs/protocol.md, fields in the order the classic demos write them.
type sdpMessage struct {
	Type string `json:"type"`
	SDP  string `json:"sdp"`
}

type candidateMessage struct {
	Type      string `json:"type"`
	Label     uint16 `json:"label"`
	ID        string `json:"id"`
	Candidate string `json:"candidate"`
}

// inbound is any of the shapes, as received.
type inbound struct {
	Type      string  `json:"type"`
	SDP       string  `json:"sdp"`
	Label     *uint16 `json:"label"`
	ID        *string `json:"id"`
	Candidate string  `json:"candidate"`
}

// side is one end of the call: its signaling socket, its peer connection, and the candidates
// held until the other end has the description they belong to.
type side struct {
	sig  *peer
	pc   *webrtc.PeerConnection
	room string

	mu        sync.Mutex
	ready     bool                      // our description is sent: candidates may follow it
	outbox    [][]byte                  // our candidates gathered before that
	pending   []webrtc.ICECandidateInit // the other end's candidates before its description
	gathered  int
	connected chan struct{}
	failed    chan webrtc.PeerConnectionState
}

func newSide(sig *peer, pc *webrtc.PeerConnection, room string) *side {
	s := &side{sig: sig, pc: pc, room: room, connected: make(chan struct{}), failed: make(chan webrtc.PeerConnectionState, 1)}
	var once sync.Once
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		switch st {
		case webrtc.PeerConnectionStateConnected:
			once.Do(func() { close(s.connected) })
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			select {
			case s.failed <- st:
			default:
			}
		}
	})
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return // the classic demos send no end-of-candidates
		}
		init := c.ToJSON()
		m := candidateMessage{Type: "candidate", Candidate: init.Candidate}
		if init.SDPMLineIndex != nil {
			m.Label = *init.SDPMLineIndex
		}
		if init.SDPMid != nil {
			m.ID = *init.SDPMid
		}
		b, _ := json.Marshal(m)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.gathered++
		if !s.ready {
			s.outbox = append(s.outbox, b)
			return
		}
		s.sig.emit("message", s.room, rawJSON{b})
	})
	return s
}

// send emits our description, then the candidates gathered meanwhile, so the other end never gets
// a candidate before the description.
func (s *side) send(d webrtc.SessionDescription) {
	b, _ := json.Marshal(sdpMessage{Type: d.Type.String(), SDP: d.SDP})
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sig.emit("message", s.room, rawJSON{b})
	for _, c := range s.outbox {
		s.sig.emit("message", s.room, rawJSON{c})
	}
	s.outbox, s.ready = nil, true
}

// handle applies one message from the other end.
func (s *side) handle(raw json.RawMessage) error {
	var m inbound
	if err := json.Unmarshal(raw, &m); err != nil {
		return err
	}
	switch m.Type {
	case "offer", "answer":
		typ := webrtc.SDPTypeOffer
		if m.Type == "answer" {
			typ = webrtc.SDPTypeAnswer
		}
		if err := s.pc.SetRemoteDescription(webrtc.SessionDescription{Type: typ, SDP: m.SDP}); err != nil {
			return err
		}
		s.mu.Lock()
		pending := s.pending
		s.pending = nil
		s.mu.Unlock()
		for _, c := range pending {
			if err := s.pc.AddICECandidate(c); err != nil {
				return err
			}
		}
		if typ == webrtc.SDPTypeOffer {
			answer, err := s.pc.CreateAnswer(nil)
			if err != nil {
				return err
			}
			if err := s.pc.SetLocalDescription(answer); err != nil {
				return err
			}
			s.send(answer)
		}
	case "candidate":
		c := webrtc.ICECandidateInit{Candidate: m.Candidate, SDPMid: m.ID, SDPMLineIndex: m.Label}
		s.mu.Lock()
		early := s.pc.RemoteDescription() == nil
		if early {
			s.pending = append(s.pending, c)
		}
		s.mu.Unlock()
		if !early {
			return s.pc.AddICECandidate(c)
		}
	}
	return nil
}

// pump applies the other end's messages in order until ctx ends; a failure goes to errs.
func (s *side) pump(ctx context.Context, errs chan<- error) {
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-s.sig.events:
			switch e.name {
			case "message":
				if len(e.args) < 2 {
					continue
				}
				if err := s.handle(e.args[1]); err != nil {
					errs <- fail("the "+s.sig.name+" could not apply the other's message: "+err.Error(),
						"the offer/answer did not negotiate", "run again with --verbose and report it")
					return
				}
			case "bye", "disconnect":
				errs <- fail("the "+s.sig.name+" got "+e.name+" during the call", "the signaling connection dropped",
					"check proxy timeouts and duet's log")
				return
			}
		}
	}
}

// callConfig is what a page passes to RTCPeerConnection: fresh servers, forced through the relay,
// keeping the TURN URLs that worked (and turns: only with a trusted certificate: pion cannot skip
// verification there).
func (r *run) callConfig(ctx context.Context) (webrtc.Configuration, []string, error) {
	s, err := r.fetchICE(ctx)
	if err != nil {
		return webrtc.Configuration{}, nil, err
	}
	cfg := webrtc.Configuration{ICETransportPolicy: webrtc.ICETransportPolicyRelay}
	var used []string
	for _, e := range s.ICEServers {
		var urls []string
		for _, raw := range e.URLs {
			u, err := parseICEURL(raw)
			if err == nil && u.turn && r.relays[raw] && (!u.secure || r.trusted) {
				urls = append(urls, raw)
			}
		}
		if len(urls) > 0 {
			cfg.ICEServers = append(cfg.ICEServers, webrtc.ICEServer{URLs: urls, Username: e.Username, Credential: e.Credential})
			used = append(used, urls...)
		}
	}
	if len(used) == 0 {
		return cfg, nil, fail("no usable TURN URL for the call", "the TURN steps failed", "fix them first")
	}
	return cfg, used, nil
}

func (r *run) newAPI() *webrtc.API {
	m := &webrtc.MediaEngine{}
	_ = m.RegisterDefaultCodecs()
	ir := &interceptor.Registry{}
	_ = webrtc.RegisterDefaultInterceptors(m, ir)
	se := webrtc.SettingEngine{LoggerFactory: pionlog.New(r.log, slog.LevelDebug)}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled) // relay-only: no host candidates to hide
	se.SetRelayAcceptanceMinWait(0)                         // pion waits 2 s for better pairs; relay-only there are none
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
}

// call is the call step: two in-process peers, signaled through the server, forced through the
// relay, with a data channel round trip and a video track.
func (r *run) call(ctx context.Context) (string, error) {
	connectBy, cancelConnect := context.WithTimeout(ctx, r.o.timeout)
	defer cancelConnect()
	// Each page fetches its own servers and credentials.
	cfgA, used, err := r.callConfig(connectBy)
	if err != nil {
		return "", err
	}
	cfgB, _, err := r.callConfig(connectBy)
	if err != nil {
		return "", err
	}
	a, err := r.connect(connectBy, "caller")
	if err != nil {
		return "", err
	}
	defer a.close()
	b, err := r.connect(connectBy, "callee")
	if err != nil {
		return "", err
	}
	defer b.close()
	room := r.o.room
	a.emit("join", room)
	if _, err := a.expect(connectBy, "joined", room, a.id()); err != nil {
		return "", err
	}
	b.emit("join", room)
	if _, err := b.expect(connectBy, "joined", room, b.id()); err != nil {
		return "", err
	}
	// The one already in the room gets other_joined and makes the offer (docs/protocol.md).
	if _, err := a.expect(connectBy, "other_joined", room, b.id()); err != nil {
		return "", err
	}

	api := r.newAPI()
	pcA, err := api.NewPeerConnection(cfgA)
	if err != nil {
		return "", err
	}
	defer pcA.Close()
	pcB, err := api.NewPeerConnection(cfgB)
	if err != nil {
		return "", err
	}
	defer pcB.Close()
	caller, callee := newSide(a, pcA, room), newSide(b, pcB, room)

	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "video", "duet-check")
	if err != nil {
		return "", err
	}
	sender, err := pcA.AddTrack(track)
	if err != nil {
		return "", err
	}
	go drainRTCP(sender)
	dc, err := pcA.CreateDataChannel("duet-check", nil)
	if err != nil {
		return "", err
	}
	opened := make(chan struct{})
	dc.OnOpen(func() { close(opened) })
	echoes := make(chan string, pings)
	dc.OnMessage(func(m webrtc.DataChannelMessage) {
		select {
		case echoes <- string(m.Data):
		default:
		}
	})
	pcB.OnDataChannel(func(d *webrtc.DataChannel) {
		d.OnMessage(func(m webrtc.DataChannelMessage) { _ = d.Send(m.Data) }) // echo
	})
	var gotBytes, gotPackets atomic.Int64
	pcB.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			p, _, err := t.ReadRTP()
			if err != nil {
				return
			}
			gotBytes.Add(int64(len(p.Payload)))
			gotPackets.Add(1)
		}
	})

	pumpCtx, stopPumps := context.WithCancel(ctx)
	errs := make(chan error, 2)
	var wg sync.WaitGroup
	for _, s := range []*side{caller, callee} {
		wg.Go(func() { s.pump(pumpCtx, errs) })
	}
	defer wg.Wait()
	defer stopPumps()

	var iceAt atomic.Int64 // nanoseconds from the offer to ICE connected, to tell ICE from DTLS delays
	start := time.Now()
	pcA.OnICEConnectionStateChange(func(st webrtc.ICEConnectionState) {
		if st == webrtc.ICEConnectionStateConnected {
			iceAt.CompareAndSwap(0, int64(time.Since(start)))
		}
	})
	offer, err := pcA.CreateOffer(nil)
	if err != nil {
		return "", err
	}
	if err := pcA.SetLocalDescription(offer); err != nil {
		return "", err
	}
	caller.send(offer)

	for _, wait := range []chan struct{}{caller.connected, callee.connected, opened} {
		select {
		case <-wait:
		case err := <-errs:
			return "", err
		case st := <-caller.failed:
			return "", r.notConnected(caller, callee, used, "the caller's connection "+st.String())
		case st := <-callee.failed:
			return "", r.notConnected(caller, callee, used, "the callee's connection "+st.String())
		case <-connectBy.Done():
			return "", r.notConnected(caller, callee, used, "no connection within "+r.o.timeout.String())
		}
	}
	connectedIn := time.Since(start)

	rtt, err := roundTrips(connectBy, dc, echoes)
	if err != nil {
		return "", err
	}
	sent, err := sendMedia(ctx, track, r.o.callTime)
	if err != nil {
		return "", err
	}
	time.Sleep(200 * time.Millisecond) // the last frames are still on the way
	if gotPackets.Load() == 0 {
		return "", fail(fmt.Sprintf("sent %d bytes of video, received none", sent), "media does not flow though the data channel does",
			"run again with --verbose and report it")
	}
	pair, err := selectedPair(pcA)
	if err != nil {
		return "", err
	}
	secs := r.o.callTime.Seconds()
	return fmt.Sprintf("connected in %d ms (ICE %d ms) via %s; data channel RTT %s; video %s/s for %.0f s (%d packets); TURN %s",
		connectedIn.Milliseconds(), time.Duration(iceAt.Load()).Milliseconds(), pair, rtt.Round(10*time.Microsecond), byteSize(float64(gotBytes.Load())/secs), secs,
		gotPackets.Load(), strings.Join(used, ", ")), nil
}

// notConnected explains a call that did not connect: without relay candidates the allocations
// failed; with them, packets between relayed addresses are dropped (the relay port range).
func (r *run) notConnected(caller, callee *side, used []string, what string) error {
	caller.mu.Lock()
	ga := caller.gathered
	caller.mu.Unlock()
	callee.mu.Lock()
	gb := callee.gathered
	callee.mu.Unlock()
	if ga == 0 || gb == 0 {
		return fail(fmt.Sprintf("%s: relay candidates gathered: caller %d, callee %d", what, ga, gb),
			"the peers got no relayed address from "+strings.Join(used, ", "), "fix the TURN steps, or run with --verbose")
	}
	return fail(fmt.Sprintf("%s: both peers have relayed addresses (caller %d, callee %d candidates) but no path between them", what, ga, gb),
		"media between relayed addresses does not pass: "+relayRange+" is probably blocked by a firewall or security group",
		"open UDP 49152-65535 (or your --relay-ports) to the internet")
}

func drainRTCP(s *webrtc.RTPSender) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := s.Read(buf); err != nil {
			return
		}
	}
}

// roundTrips sends pings over the data channel and returns the median echo time.
func roundTrips(ctx context.Context, dc *webrtc.DataChannel, echoes <-chan string) (time.Duration, error) {
	var rtts []time.Duration
	for i := range pings {
		msg := fmt.Sprintf("ping %d", i)
		start := time.Now()
		if err := dc.SendText(msg); err != nil {
			return 0, fail("the data channel refused a message: "+err.Error(), "SCTP over DTLS broke", "run again with --verbose")
		}
		select {
		case got := <-echoes:
			if got != msg {
				return 0, fail(fmt.Sprintf("the data channel echoed %q for %q", got, msg), "messages were lost or reordered", "run again with --verbose")
			}
			rtts = append(rtts, time.Since(start))
		case <-ctx.Done():
			return 0, fail("no data channel echo within the timeout", "the relayed path dropped the messages", "check the relay's load and "+relayRange)
		}
	}
	slices.Sort(rtts)
	return rtts[len(rtts)/2], nil
}

// sendMedia writes random "video" frames for d and returns the bytes sent.
func sendMedia(ctx context.Context, track *webrtc.TrackLocalStaticSample, d time.Duration) (int64, error) {
	frame := make([]byte, frameBytes)
	tick := time.NewTicker(frameInterval)
	defer tick.Stop()
	end := time.After(d)
	var sent int64
	for {
		select {
		case <-end:
			return sent, nil
		case <-ctx.Done():
			return sent, fail("the call ran out of time", "--timeout is too short for --call-seconds", "raise --timeout")
		case <-tick.C:
			_, _ = rand.Read(frame)
			if err := track.WriteSample(media.Sample{Data: frame, Duration: frameInterval}); err != nil && !errors.Is(err, context.Canceled) {
				return sent, fail("sending video failed: "+err.Error(), "the media path broke", "run again with --verbose")
			}
			sent += frameBytes
		}
	}
}

// selectedPair describes the candidate pair ICE chose, with the protocol to the TURN server.
func selectedPair(pc *webrtc.PeerConnection) (string, error) {
	t := pc.SCTP().Transport().ICETransport()
	p, err := t.GetSelectedCandidatePair()
	if err != nil || p == nil {
		return "", fail("no selected candidate pair", "ICE reports no pair though connected", "run again with --verbose")
	}
	if p.Local.Typ != webrtc.ICECandidateTypeRelay || p.Remote.Typ != webrtc.ICECandidateTypeRelay {
		return "", fail(fmt.Sprintf("the selected pair is %s ↔ %s", p.Local.Typ, p.Remote.Typ),
			"the call did not go through the relay", "report it: the relay-only policy was not honoured")
	}
	via := ""
	if st, ok := t.GetSelectedCandidatePairStats(); ok {
		if c, ok := pc.GetStats()[st.LocalCandidateID].(webrtc.ICECandidateStats); ok && c.RelayProtocol != "" {
			via = " (to TURN over " + c.RelayProtocol + ")"
		}
	}
	return fmt.Sprintf("%s/%s %s:%d ↔ %s/%s %s:%d%s", p.Local.Typ, p.Local.Protocol, p.Local.Address, p.Local.Port,
		p.Remote.Typ, p.Remote.Protocol, p.Remote.Address, p.Remote.Port, via), nil
}

func byteSize(n float64) string {
	switch {
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", n/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.0f kB", n/1e3)
	}
	return fmt.Sprintf("%.0f B", n)
}
