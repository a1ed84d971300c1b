package pypitest_test

import (
	"strings"
	"testing"

	"github.com/fakepypi/fakepypi/pypitest"
)

// Index faults from Go: two 503s on upload, then PyPI again; a sticky
// mint-token fault until cleared; names are checked.
func TestIndexFaults(t *testing.T) {
	t.Parallel()
	h := pypitest.New(t, pypitest.WithConfig(config))
	tok := h.PublishToken()
	whl := pypitest.Wheel("demo", "1.0")
	if err := h.QueueIndexFaults("upload", 2, "status:503"); err != nil {
		t.Fatal(err)
	}
	for i, want := range []int{503, 503, 200} {
		res, err := h.Upload(tok, pypitest.WheelFilename("demo", "1.0"), whl)
		if err != nil || res.Status != want {
			t.Fatalf("upload %d: %v %s, want %d", i, err, res.StatusLine(), want)
		}
	}
	if ev := h.Events("fault"); len(ev) != 2 || ev[0].Code != "status:503" {
		t.Errorf("fault events: %+v", ev)
	}

	if err := h.SetIndexFaults("mint-token", "no-value"); err != nil {
		t.Fatal(err)
	}
	jwt, err := h.OIDCToken("github", "")
	if err != nil {
		t.Fatal(err)
	}
	if m, err := h.Exchange(jwt); err != nil || m.Status != 200 || m.Token != "" || string(m.Body) != `{"success":true}` {
		t.Fatalf("exchange under no-value: %v %+v", err, m)
	}
	h.ClearIndexFaults()
	if m, err := h.Exchange(jwt); err != nil || m.Status != 200 || !strings.HasPrefix(m.Token, "pypi-") {
		t.Fatalf("exchange after clearing (the faulty answer spent no jti): %v %+v", err, m)
	}

	if err := h.SetIndexFaults("upload", "no-value"); err == nil || !strings.Contains(err.Error(), "no-value needs endpoint") {
		t.Errorf("no-value on upload: %v", err)
	}
	if err := h.QueueIndexFaults("uploads", 1, "reset"); err == nil || !strings.Contains(err.Error(), `unknown endpoint "uploads"`) {
		t.Errorf("bad endpoint: %v", err)
	}
}
