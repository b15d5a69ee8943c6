package room_test

import (
	"testing"

	"duet/internal/room"
	"duet/internal/room/roomtest"
)

func TestMemoryHub(t *testing.T) {
	roomtest.Run(t, "memory-", room.NewMemoryHub)
}
