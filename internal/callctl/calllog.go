package callctl

import (
	"context"
	"log/slog"
)

// callLog writes a call's log lines, each with the call's call_id, tenant
// and user first.
//
// Binding those three with Logger.With for every call cloned the handler
// and formatted them (≈ 700 bytes and 8 allocations a call) although a
// routine call writes just two lines ("call answered", "call ended"). Now a
// line adds them as attributes of its own record, which the built-in
// handlers write exactly as they wrote the bound ones; the bound logger is
// made only if a line needs a *slog.Logger (logger).
type callLog struct {
	base  *slog.Logger
	attrs [3]slog.Attr
	bound *slog.Logger // base.With(attrs), made by logger
}

func newCallLog(base *slog.Logger, callID, tenant, user string) callLog {
	return callLog{base: base, attrs: [3]slog.Attr{
		slog.String("call_id", callID), slog.String("tenant", tenant), slog.String("user", user)}}
}

// logger is base with the call's attributes bound, made on first use: for
// lines off the routine path, which log with key-value arguments. On the
// call's loop only.
func (l *callLog) logger() *slog.Logger {
	if l.bound == nil {
		l.bound = l.base.With(l.attrs[0], l.attrs[1], l.attrs[2])
	}
	return l.bound
}

// log writes a line at level, when the handler takes it, with the call's
// attributes and then attrs. It reads only what newCallLog set, so it may
// run off the call's loop (a BYE's goroutine).
func (l *callLog) log(ctx context.Context, level slog.Level, msg string, attrs ...slog.Attr) {
	if !l.base.Enabled(ctx, level) {
		return
	}
	var all [8]slog.Attr
	l.base.LogAttrs(ctx, level, msg, append(append(all[:0], l.attrs[:]...), attrs...)...)
}

// info is log at slog.LevelInfo.
func (l *callLog) info(ctx context.Context, msg string, attrs ...slog.Attr) {
	l.log(ctx, slog.LevelInfo, msg, attrs...)
}
