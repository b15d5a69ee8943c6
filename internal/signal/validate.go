package signal

import (
	"encoding/json"
	"fmt"

	"duet/internal/access"
	"duet/internal/room"
)

// Limits on what a client may send.
const (
	MaxPayload  = 64 << 10 // bytes of one message payload
	maxArgBytes = room.MaxNameLen + 2
)

// refusal is the body of the `error` event: which event was refused, a stable code and a sentence.
type refusal struct {
	Event  string `json:"event"`
	Code   string `json:"code"`
	Reason string `json:"reason"`
}

func (r *refusal) Error() string { return r.Code + ": " + r.Reason }

func refuse(event, code, format string, a ...any) *refusal {
	return &refusal{Event: event, Code: code, Reason: fmt.Sprintf(format, a...)}
}

// roomArg checks that args[0] is a JSON string naming a valid room.
func roomArg(event string, args []json.RawMessage) (string, *refusal) {
	raw, ok := arg(args, 0)
	if !ok || len(raw) > maxArgBytes || len(raw) < 3 || raw[0] != '"' || raw[len(raw)-1] != '"' || !room.ValidName(string(raw[1:len(raw)-1])) {
		return "", refuse(event, "invalid_room", "the first argument must be a room name: 1 to %d letters, digits, '-' or '_'", room.MaxNameLen)
	}
	return string(raw[1 : len(raw)-1]), nil
}

// payloadArg checks that args[1] is a JSON object under MaxPayload bytes, and returns it untouched.
func payloadArg(event string, args []json.RawMessage) (json.RawMessage, *refusal) {
	raw, ok := arg(args, 1)
	if !ok || len(raw) == 0 || raw[0] != '{' {
		return nil, refuse(event, "invalid_payload", "the second argument must be an object such as {type, sdp} or {type:'candidate', …}")
	}
	if len(raw) > MaxPayload {
		return nil, refuse(event, "payload_too_large", "the payload is %d bytes; at most %d are relayed", len(raw), MaxPayload)
	}
	return raw, nil
}

// JoinOptions is join's optional second argument, an object; fields this server does not know are
// ignored, so clients may send more than it reads.
type JoinOptions struct {
	Password string // the room's password: opens an empty room with it, or is checked against its lock
	Token    string // an invite token, wanted in --rooms token mode
	Resume   string // the key a joined event gave an earlier socket of this page
	given    bool   // an object came: the client reads joined's third argument, its seat's key
}

// Bounds of join's options: the object (a token is about 300 bytes, a password 256), and a resume
// key (a socket id, a dot, 26 characters); a password's is access.MaxPasswordLen.
const (
	maxOptionsBytes = 4 << 10
	MaxResumeKey    = 128
)

// joinOptions reads args[1] when given: absent or null for none, else an object whose known keys are
// strings within their bounds.
func joinOptions(args []json.RawMessage) (JoinOptions, *refusal) {
	var o JoinOptions
	raw, ok := arg(args, 1)
	if !ok || string(raw) == "null" {
		return o, nil
	}
	if len(raw) > maxOptionsBytes {
		return o, refuse("join", "payload_too_large", "join's options are %d bytes; at most %d are read", len(raw), maxOptionsBytes)
	}
	var fields map[string]json.RawMessage
	if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &fields) != nil {
		return o, refuse("join", "invalid_options", "the second argument of join, when given, must be an options object such as {password}, {token} or {resume}")
	}
	for key, dst := range map[string]*string{"password": &o.Password, "token": &o.Token, "resume": &o.Resume} {
		if v, ok := fields[key]; ok && json.Unmarshal(v, dst) != nil {
			return JoinOptions{}, refuse("join", "invalid_options", "join's option %q must be a string", key)
		}
	}
	if len(o.Password) > access.MaxPasswordLen {
		return JoinOptions{}, refuse("join", "invalid_options", "a room password has at most %d bytes", access.MaxPasswordLen)
	}
	if len(o.Resume) > MaxResumeKey {
		return JoinOptions{}, refuse("join", "invalid_options", "a resume key has at most %d characters", MaxResumeKey)
	}
	o.given = true
	return o, nil
}

// arg returns argument i as raw JSON, as the Socket.IO codec delivers every argument.
func arg(args []json.RawMessage, i int) (json.RawMessage, bool) {
	if i >= len(args) {
		return nil, false
	}
	return args[i], true
}
