package pionlog

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/pion/logging"
)

func TestLevels(t *testing.T) {
	calls := []struct {
		name         string
		log          func(logging.LeveledLogger)
		relay, check slog.Level // with max Warn (the relay) and max Debug (duet check)
	}{
		{"Trace", func(l logging.LeveledLogger) { l.Trace("m") }, LevelTrace, LevelTrace},
		{"Tracef", func(l logging.LeveledLogger) { l.Tracef("%s", "m") }, LevelTrace, LevelTrace},
		{"Debug", func(l logging.LeveledLogger) { l.Debug("m") }, slog.LevelDebug, slog.LevelDebug},
		{"Debugf", func(l logging.LeveledLogger) { l.Debugf("%s", "m") }, slog.LevelDebug, slog.LevelDebug},
		{"Info", func(l logging.LeveledLogger) { l.Info("m") }, slog.LevelDebug, slog.LevelDebug},
		{"Infof", func(l logging.LeveledLogger) { l.Infof("%s", "m") }, slog.LevelDebug, slog.LevelDebug},
		{"Warn", func(l logging.LeveledLogger) { l.Warn("m") }, slog.LevelWarn, slog.LevelDebug},
		{"Warnf", func(l logging.LeveledLogger) { l.Warnf("%s", "m") }, slog.LevelWarn, slog.LevelDebug},
		{"Error", func(l logging.LeveledLogger) { l.Error("m") }, slog.LevelWarn, slog.LevelDebug},
		{"Errorf", func(l logging.LeveledLogger) { l.Errorf("%s", "m") }, slog.LevelWarn, slog.LevelDebug},
	}
	for _, c := range calls {
		for _, m := range []struct {
			max  slog.Level
			want slog.Level
		}{{slog.LevelWarn, c.relay}, {slog.LevelDebug, c.check}} {
			var out bytes.Buffer
			c.log(New(slog.New(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: LevelTrace})), m.max).NewLogger("ice"))
			var rec struct{ Level, Msg, Pion string }
			if err := json.Unmarshal(out.Bytes(), &rec); err != nil {
				t.Fatalf("%s (max %v): %v in %q", c.name, m.max, err, out.String())
			}
			if rec.Level != m.want.String() || rec.Msg != "m" || rec.Pion != "ice" {
				t.Errorf("%s (max %v) = %+v, want level %v, msg m, pion ice", c.name, m.max, rec, m.want)
			}
		}
	}
}
