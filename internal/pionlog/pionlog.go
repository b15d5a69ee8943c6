// Package pionlog hands the logs of pion's libraries (the TURN relay, and `duet check`'s WebRTC call)
// to slog: the one adapter from pion's LoggerFactory to a *slog.Logger.
package pionlog

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pion/logging"
)

// LevelTrace sits below Debug, so pion's per-packet tracing stays hidden unless asked for.
const LevelTrace = slog.LevelDebug - 4

// Factory is pion's LoggerFactory on slog; each scope logs with the attribute pion=SCOPE.
type Factory struct {
	log *slog.Logger
	max slog.Level
}

// New maps pion's levels onto log's, never above max. pion's Info is per-packet chatter ("no
// permission for …") and its Error fires on a remote party's mistakes, so they come as Debug and
// Warn; a caller that explains failures itself (duet check) passes max slog.LevelDebug.
func New(log *slog.Logger, max slog.Level) Factory { return Factory{log: log, max: max} }

func (f Factory) NewLogger(scope string) logging.LeveledLogger {
	return logger{log: f.log.With("pion", scope), max: f.max}
}

type logger struct {
	log *slog.Logger
	max slog.Level
}

func (l logger) print(level slog.Level, msg string) {
	l.log.Log(context.Background(), min(level, l.max), msg)
}

func (l logger) printf(level slog.Level, format string, args ...any) {
	if level = min(level, l.max); l.log.Enabled(context.Background(), level) {
		l.log.Log(context.Background(), level, fmt.Sprintf(format, args...))
	}
}

func (l logger) Trace(msg string)                  { l.print(LevelTrace, msg) }
func (l logger) Tracef(format string, args ...any) { l.printf(LevelTrace, format, args...) }
func (l logger) Debug(msg string)                  { l.print(slog.LevelDebug, msg) }
func (l logger) Debugf(format string, args ...any) { l.printf(slog.LevelDebug, format, args...) }
func (l logger) Info(msg string)                   { l.print(slog.LevelDebug, msg) }
func (l logger) Infof(format string, args ...any)  { l.printf(slog.LevelDebug, format, args...) }
func (l logger) Warn(msg string)                   { l.print(slog.LevelWarn, msg) }
func (l logger) Warnf(format string, args ...any)  { l.printf(slog.LevelWarn, format, args...) }
func (l logger) Error(msg string)                  { l.print(slog.LevelWarn, msg) }
func (l logger) Errorf(format string, args ...any) { l.printf(slog.LevelWarn, format, args...) }
