package redishub

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"duet/internal/room"
)

// decode reads an outcome framed by the scripts: kind digit, room, member, peer, the member's node
// and the room's start (unix ms) as netstrings (<len>:<bytes>), then the relayed payload as it was
// sent. node is this node's id: the outcome is Own when the member is connected here.
func decode(f, node string) (room.Outcome, error) {
	var o room.Outcome
	if f == "" || !published(room.Kind(f[0]-'0')) {
		return o, errors.New("bad outcome kind")
	}
	o.Kind = room.Kind(f[0] - '0')
	rest := f[1:]
	var fields [5]string
	for i := range fields {
		n, after, ok := strings.Cut(rest, ":")
		size, err := strconv.Atoi(n)
		if !ok || err != nil || size < 0 || size > len(after) {
			return o, errors.New("bad outcome framing")
		}
		fields[i], rest = after[:size], after[size:]
	}
	o.Room, o.Member, o.Peer = fields[0], room.Member(fields[1]), room.Member(fields[2])
	o.Own = fields[3] == node
	if fields[4] != "" {
		ms, err := strconv.ParseInt(fields[4], 10, 64)
		if err != nil {
			return o, errors.New("bad room start")
		}
		o.Started = time.UnixMilli(ms)
	}
	if rest != "" {
		o.Data = json.RawMessage(rest)
	}
	return o, nil
}
