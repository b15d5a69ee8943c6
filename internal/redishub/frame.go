package redishub

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"duet/internal/room"
	"duet/internal/signal"
)

// decode reads an outcome framed by the scripts: kind digit, room, member and peer as netstrings
// (<len>:<bytes>), then the relayed payload as it was sent.
func decode(f string) (signal.Outcome, error) {
	var o signal.Outcome
	if f == "" || f[0] < '1' || f[0] > '8' || f[0] == '6' { // 6, Evicted, is this node's own finding
		return o, errors.New("bad outcome kind")
	}
	o.Kind = signal.Kind(f[0] - '0')
	rest := f[1:]
	var fields [3]string
	for i := range fields {
		n, after, ok := strings.Cut(rest, ":")
		size, err := strconv.Atoi(n)
		if !ok || err != nil || size < 0 || size > len(after) {
			return o, errors.New("bad outcome framing")
		}
		fields[i], rest = after[:size], after[size:]
	}
	o.Room, o.Member, o.Peer = fields[0], room.Member(fields[1]), room.Member(fields[2])
	if rest != "" {
		o.Data = json.RawMessage(rest)
	}
	return o, nil
}
