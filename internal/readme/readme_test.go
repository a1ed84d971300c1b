package readme

import "testing"

func TestCheck(t *testing.T) {
	const (
		bad    = "Title\n===\n\n.. toctree::\n"
		msgRST = "400 The description failed to render in the default format of reStructuredText. See https://pypi.org/help/#description-content-type for more information."
	)
	p := func(s string) *string { return &s }
	rows := []struct {
		desc, ctype *string
		want        string
	}{
		{desc: nil, ctype: nil, want: ""},
		{desc: p(""), ctype: nil, want: ""},
		{desc: p(bad), ctype: nil, want: msgRST},
		{desc: p(bad), ctype: p(""), want: msgRST},
		{desc: p(bad), ctype: p("text/x-rst"), want: "400 The description failed to render for 'text/x-rst'. See https://pypi.org/help/#description-content-type for more information."},
		{desc: p(bad), ctype: p("Text/X-RST; charset=UTF-8"), want: "400 The description failed to render for 'Text/X-RST; charset=UTF-8'. See https://pypi.org/help/#description-content-type for more information."},
		{desc: p(bad), ctype: p("text/markdown"), want: ""},
		{desc: p(bad), ctype: p("text/plain"), want: ""},
		{desc: p("  \n\n"), ctype: p("text/markdown; variant=GFM"), want: "400 The description failed to render for 'text/markdown; variant=GFM'. See https://pypi.org/help/#description-content-type for more information."},
		{desc: p("  \n\n"), ctype: p("text/plain"), want: ""},
		{desc: p("  \n\n"), ctype: nil, want: msgRST},
		{desc: p("A *fine* text.\n"), ctype: nil, want: ""},
	}
	for _, r := range rows {
		e := Check(r.desc, r.ctype, "")
		got := ""
		if e != nil {
			got = e.Error()
		}
		if got != r.want {
			t.Errorf("Check(%v, %v) = %q, want %q", r.desc, r.ctype, got, r.want)
		}
	}
}
