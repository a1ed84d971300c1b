package upload_test

import (
	"net/http"
	"testing"
)

const (
	msgRenderDefault = "400 The description failed to render in the default format of reStructuredText. See https://pypi.org/help/#description-content-type for more information."
	badRST           = "My Project\n=======\n\nTitle underline too short.\n"
)

// msgRenderFor is step 15's message for a declared content type, quoted
// as sent (parameters included).
func msgRenderFor(ct string) string {
	return "400 The description failed to render for '" + ct + "'. See https://pypi.org/help/#description-content-type for more information."
}

// withDescription appends the description fields twine sends.
func withDescription(f form, desc, ctype string) form {
	out := append(form{}, f[:len(f)-1]...)
	out = append(out, part{name: "description", value: desc})
	if ctype != "" {
		out = append(out, part{name: "description_content_type", value: ctype})
	}
	return append(out, f[len(f)-1])
}

// TestDescriptionRender is step 15 of docs/upload.md's check order: the exact status lines, which
// content types are rendered as reStructuredText, and where the check
// sits in the order (after permissions and 2FA, before filename checks).
func TestDescriptionRender(t *testing.T) {
	s, _ := newIndex(t, testSetup)
	url := s.URL() + "/legacy/"
	alice := basic(token(t, s, "alice-all"))
	f := func(version string) form {
		return uploadForm("demo", version, "demo-"+version+"-py3-none-any.whl", wheel("demo", version))
	}
	rows := []struct {
		name  string
		auth  string
		form  form
		want  string
		after func(t *testing.T)
	}{
		{name: "no content type: rst by default", auth: alice, form: withDescription(f("3.0"), badRST, ""), want: msgRenderDefault},
		{name: "text/x-rst", auth: alice, form: withDescription(f("3.0"), ".. toctree::\n", "text/x-rst"), want: msgRenderFor("text/x-rst")},
		{name: "text/x-rst with charset, quoted as sent", auth: alice, form: withDescription(f("3.0"), "See :ref:`x`.\n", "text/x-rst; charset=UTF-8"),
			want: msgRenderFor("text/x-rst; charset=UTF-8")},
		{name: "raw directive", auth: alice, form: withDescription(f("3.0"), ".. raw:: html\n\n   <b>x</b>\n", ""), want: msgRenderDefault},
		{name: "only a title renders nothing", auth: alice, form: withDescription(f("3.0"), "Demo\n====\n", ""), want: msgRenderDefault},
		{name: "markdown is not rst", auth: alice, form: withDescription(f("3.1"), badRST, "text/markdown"), want: okStatus},
		{name: "text/plain always renders", auth: alice, form: withDescription(f("3.2"), badRST, "text/plain"), want: okStatus},
		{name: "valid rst", auth: alice, form: withDescription(f("3.3"), "Demo\n====\n\nA *fine* README.\n", ""), want: okStatus},
		{name: "empty description is not rendered", auth: alice, form: withDescription(f("3.4"), "", ""), want: okStatus},
		{name: "2FA (step 11b) wins", auth: basic(token(t, s, "bob-all")), form: withDescription(f("3.5"), badRST, ""),
			want: "403 User 'bob', associated with the API token used, does not have two-factor authentication enabled. Please enable two-factor authentication before attempting to upload to PyPI. See https://pypi.org/help/#two-factor-authentication for more information."},
		{name: "before the filename (step 17)", auth: alice,
			form: withDescription(f("3.5"), badRST, "").mapContent(func(p part) part { p.filename = "demo-3.5.egg"; return p }),
			want: msgRenderDefault},
		{name: "a new project is not created", auth: alice,
			form: withDescription(uploadForm("fresh-demo", "1.0", "fresh_demo-1.0-py3-none-any.whl", wheel("fresh_demo", "1.0")), badRST, ""),
			want: msgRenderDefault,
			after: func(t *testing.T) {
				resp, err := http.Get(s.URL() + "/pypi/fresh-demo/json")
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusNotFound {
					t.Errorf("project exists after a refused upload: %s", resp.Status)
				}
			}},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			st, body := send(t, url, row.auth, row.form, "Accept", "*/*")
			if st != row.want {
				t.Fatalf("status line\n got %q\nwant %q\nbody %s", st, row.want, body)
			}
			if row.after != nil {
				row.after(t)
			}
		})
	}
}
