// Package logging is the one log format of fakeindex and fakeissuer:
// log/slog records, as logfmt text by default (time=... level=... msg=...
// key=value, one record per line) or as JSON lines with --log-format json.
// Every component adds a component attribute (index, testpypi, issuer,
// proxy), so one stream from `fakeindex up` stays readable.
package logging

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
)

// Formats accepted by New and the --log-format flag.
const (
	Text = "text"
	JSON = "json"
)

// New returns a logger writing records in format (Text or JSON) to w at
// level and above.
func New(w io.Writer, format string, level slog.Level) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: level}
	switch format {
	case "", Text:
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case JSON:
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

// Discard is a logger that drops everything.
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// OrDiscard returns l, or Discard() when l is nil: a nil Logger in a
// library's Config means no log.
func OrDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return Discard()
	}
	return l
}

// FormatFlag adds --log-format to fs and returns its value.
func FormatFlag(fs *flag.FlagSet) *string {
	return fs.String("log-format", Text, "log record `format` on stderr: text (key=value pairs, one line per record) or json (one JSON object per line)")
}
