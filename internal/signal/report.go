package signal

import (
	"time"

	"duet/internal/room"
	"duet/internal/webhook"
)

// report tells the webhook about a member entering or leaving a room. Only the node of the member
// reports (Outcome.Own), so each change is told once however many nodes share the rooms; the room's
// start comes from the store, so room_finished's duration is right whichever node sees the end.
func (s *Server) report(o room.Outcome) {
	if s.webhooks == nil || !o.Own {
		return
	}
	now := time.Now()
	base := webhook.Event{Room: o.Room, Participant: string(o.Member), Time: now}
	switch o.Kind {
	case room.Joined:
		if o.Peer == "" {
			s.webhooks.Send(webhook.Event{Type: webhook.RoomStarted, Room: o.Room, Time: o.Started})
		}
		base.Type = webhook.ParticipantJoined
		s.webhooks.Send(base)
	case room.Left, room.Gone:
		base.Type = webhook.ParticipantLeft
		s.webhooks.Send(base)
		if o.Peer == "" {
			s.webhooks.Send(webhook.Event{Type: webhook.RoomFinished, Room: o.Room, Time: now,
				Duration: now.Sub(o.Started).Seconds()})
		}
	}
}
