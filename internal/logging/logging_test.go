package logging

import (
	"bytes"
	"encoding/json"
	"flag"
	"log/slog"
	"strings"
	"testing"
)

func TestFormats(t *testing.T) {
	var buf bytes.Buffer
	l, err := New(&buf, Text, slog.LevelInfo)
	if err != nil {
		t.Fatal(err)
	}
	l.With("component", "index").Warn("mint refused", "why", "environment differs")
	line := buf.String()
	if strings.Count(line, "\n") != 1 || !strings.Contains(line, `level=WARN msg="mint refused" component=index why="environment differs"`) {
		t.Errorf("text record %q", line)
	}

	buf.Reset()
	l, err = New(&buf, JSON, slog.LevelWarn)
	if err != nil {
		t.Fatal(err)
	}
	l.Info("dropped below the level")
	l.Error("upload refused", "status", 400)
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("json record %q: %v", buf.String(), err)
	}
	if rec["msg"] != "upload refused" || rec["status"] != float64(400) {
		t.Errorf("json record %v", rec)
	}

	if _, err := New(&buf, "xml", slog.LevelInfo); err == nil || !strings.Contains(err.Error(), "want text or json") {
		t.Errorf("bad format: %v", err)
	}
}

func TestFormatFlag(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	f := FormatFlag(fs)
	if err := fs.Parse([]string{"--log-format", "json"}); err != nil || *f != JSON {
		t.Fatalf("%v %q", err, *f)
	}
	if OrDiscard(nil) == nil {
		t.Fatal("OrDiscard(nil) is nil")
	}
}
