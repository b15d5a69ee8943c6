package signal_test

import (
	"testing"

	"duet/internal/signal"
	"duet/internal/signal/hubtest"
)

func TestMemoryHub(t *testing.T) {
	hubtest.Run(t, "memory-", signal.NewMemoryHub)
}
