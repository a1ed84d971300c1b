package conform

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/textproto"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode"
)

// Check judges one aspect of a run: "" when it holds, otherwise the
// problem, phrased so that it names what the uploader did wrong.
type Check func(r *CaseRun) string

// Expected outcomes of a case, judged from the exit status.
const (
	ExpectSuccess = iota // exit status 0
	ExpectFailure        // a non-zero exit status, in bounded time
	ExpectAny            // the case's checks decide
)

// judge applies the checks every case shares, then the case's own; it
// returns every problem found, the most telling first.
func judge(c *Case, r *CaseRun) []string {
	switch {
	case r.SetupErr != nil:
		return []string{"suite error (not the uploader's fault): " + r.SetupErr.Error()}
	case r.StartErr != nil:
		return []string{"the uploader could not be run: " + r.StartErr.Error()}
	}
	var problems []string
	add := func(p string) {
		if p != "" {
			problems = append(problems, p)
		}
	}
	if r.TimedOut {
		add(fmt.Sprintf("hung: still running after %s, killed (%s)", r.Deadline, r.lastAnswer()))
	}
	// Request hygiene, on every upload whatever the case is about: a
	// wrong digest or a token in a URL is a defect wherever it shows.
	add(tokenNotInURL(r))
	add(digestsMatch(r))
	if !r.TimedOut {
		switch c.Expect {
		case ExpectSuccess:
			if r.ExitCode != 0 {
				add(fmt.Sprintf("exit status %d, want 0 (%s); it said: %s", r.ExitCode, r.lastAnswer(), r.lastWords()))
			}
		case ExpectFailure:
			if r.ExitCode == 0 {
				add(fmt.Sprintf("exit status 0, want non-zero: reported success although %s", r.lastAnswer()))
			}
		}
	}
	for _, ch := range c.Checks {
		add(ch(r))
	}
	return problems
}

// lastWords is the uploader's last message (stderr first): its last
// unindented line with the indented lines that continue it, without
// terminal colours, for messages.
func (r *CaseRun) lastWords() string {
	for _, out := range [][]byte{r.Stderr, r.Stdout} {
		lines := strings.Split(ansiRe.ReplaceAllString(string(out), ""), "\n")
		end := len(lines)
		for end > 0 && strings.TrimSpace(lines[end-1]) == "" {
			end--
		}
		if end == 0 {
			continue
		}
		start := end - 1
		for start > 0 && start > end-8 && (lines[start] == "" || lines[start][0] == ' ' || lines[start][0] == '\t') {
			start--
		}
		msg := strings.Join(strings.Fields(strings.Join(lines[start:end], " ")), " ")
		if len(msg) > 240 {
			msg = msg[:237] + "..."
		}
		return fmt.Sprintf("%q", msg)
	}
	return "nothing"
}

var ansiRe = regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`)

// lastAnswer describes the last answer the index gave, for messages.
func (r *CaseRun) lastAnswer() string {
	if len(r.Requests) == 0 {
		return "the index received no request"
	}
	q := r.Requests[len(r.Requests)-1]
	if q.Status == 0 {
		return "the index gave no answer to " + q.Method + " " + q.Path + " (reset, or held back)"
	}
	return "the index answered " + q.Method + " " + q.Path + " with " + q.answerText()
}

func (q *Request) answerText() string {
	if q.Status == 0 {
		return "none (connection reset or still pending)"
	}
	return fmt.Sprintf("%d %s", q.Status, q.Reason)
}

// uploadsOf returns the upload requests whose content part is the file.
func (r *CaseRun) uploadsOf(b Built) []*Request {
	var out []*Request
	for _, q := range r.Uploads() {
		if q.Content != nil && q.Content.Filename == b.Filename {
			out = append(out, q)
		}
	}
	return out
}

// lastUploadOf is the last upload of b, nil if none.
func (r *CaseRun) lastUploadOf(b Built) *Request {
	us := r.uploadsOf(b)
	if len(us) == 0 {
		return nil
	}
	return us[len(us)-1]
}

// tokenNotInURL: secrets travel only in the Authorization header
// (warehouse/macaroons/security_policy.py _extract_http_macaroon reads
// nothing else); a URL ends up in proxy and server logs.
func tokenNotInURL(r *CaseRun) string {
	secrets := append([]string{r.Token}, r.Minted()...)
	for _, q := range r.Requests {
		u := q.Path + "?" + q.RawQuery
		dec, _ := url.QueryUnescape(u)
		for _, s := range secrets {
			if s != "" && (strings.Contains(u, s) || strings.Contains(dec, s)) {
				return fmt.Sprintf("sent the token in the URL of %s %s", q.Method, q.Path)
			}
		}
	}
	return ""
}

// digestsMatch: every digest sent must be the file's
// (warehouse/forklift/legacy.py file_upload compares each one given,
// lowercased, with hexdigest()).
func digestsMatch(r *CaseRun) string {
	for _, q := range r.Uploads() {
		if q.Content == nil {
			continue
		}
		for _, d := range []struct{ field, got string }{
			{"md5_digest", q.Content.MD5}, {"sha256_digest", q.Content.SHA256}, {"blake2_256_digest", q.Content.Blake2256},
		} {
			for _, v := range q.Values(d.field) {
				if v != "" && !strings.EqualFold(v, d.got) {
					return fmt.Sprintf("%s %q sent for %s does not match the file's digest %q (PyPI refuses the upload)", d.field, v, q.Content.Filename, d.got)
				}
			}
		}
	}
	return ""
}

// --- checks used by the catalogue ---

// allStored: every file was uploaded, answered 200, and the index holds
// it with the file's bytes.
func allStored(r *CaseRun) string {
	for _, b := range r.Dists {
		if p := stored(r, b); p != "" {
			return p
		}
	}
	return ""
}

func stored(r *CaseRun, b Built) string {
	q := r.lastUploadOf(b)
	if q == nil {
		return b.Filename + " was never uploaded"
	}
	if q.Status != 200 {
		return fmt.Sprintf("%s: the index answered %s", b.Filename, q.answerText())
	}
	if sum, ok := r.Stored[b.Filename]; !ok {
		return b.Filename + " is not on the index after the run"
	} else if sum != b.SHA256 {
		return b.Filename + " on the index has other bytes than the file"
	}
	return ""
}

// eachUpload applies f to the last upload of every file; a file never
// uploaded is a problem.
func eachUpload(f func(b Built, q *Request) string) Check {
	return func(r *CaseRun) string {
		for _, b := range r.Dists {
			q := r.lastUploadOf(b)
			if q == nil {
				return b.Filename + " was never uploaded"
			}
			if p := f(b, q); p != "" {
				return p
			}
		}
		return ""
	}
}

// formField: form field name must be want(b) exactly, sent once.
func formField(name string, want func(b Built) string) Check {
	return eachUpload(func(b Built, q *Request) string {
		vs, w := q.Values(name), want(b)
		switch {
		case len(vs) == 0:
			return fmt.Sprintf("%s: no %s field, want %q", b.Filename, name, w)
		case len(vs) > 1:
			return fmt.Sprintf("%s: %s sent %d times (%q); PyPI refuses a repeated single-use field", b.Filename, name, len(vs), vs)
		case vs[0] != w:
			return fmt.Sprintf("%s: %s is %q, want %q", b.Filename, name, vs[0], w)
		}
		return ""
	})
}

// metaField maps a core-metadata field to its upload form field
// (docs/user/api/upload.md; warehouse/forklift/metadata.py
// _FORM_TO_RAW_MAPPING): lower case, '-' to '_', multiple-use fields
// plural except platform, supported_platform and license_file.
type metaField struct {
	Header, Form string
	Multi        bool
}

var metaFields = []metaField{
	{"Metadata-Version", "metadata_version", false},
	{"Name", "name", false}, {"Version", "version", false},
	{"Summary", "summary", false}, {"Description-Content-Type", "description_content_type", false},
	{"Keywords", "keywords", false}, {"Home-page", "home_page", false}, {"Download-URL", "download_url", false},
	{"Author", "author", false}, {"Author-email", "author_email", false},
	{"Maintainer", "maintainer", false}, {"Maintainer-email", "maintainer_email", false},
	{"License", "license", false}, {"License-Expression", "license_expression", false},
	{"Requires-Python", "requires_python", false},
	{"Classifier", "classifiers", true}, {"Requires-Dist", "requires_dist", true},
	{"Provides-Dist", "provides_dist", true}, {"Obsoletes-Dist", "obsoletes_dist", true},
	{"Requires-External", "requires_external", true}, {"Provides-Extra", "provides_extra", true},
	{"Project-URL", "project_urls", true}, {"Dynamic", "dynamic", true},
	{"Platform", "platform", true}, {"Supported-Platform", "supported_platform", true},
	{"License-File", "license_file", true},
}

func lookupMetaField(header string) metaField {
	for _, f := range metaFields {
		if strings.EqualFold(f.Header, header) {
			return f
		}
	}
	panic("conform: unknown metadata field " + header)
}

// carried: each named core-metadata field of the file is sent in its
// form field with the same value(s). PyPI takes the release's metadata
// from the form, not from the file (warehouse/forklift/legacy.py
// file_upload: "We should eventually extract this data out of the
// artifact ... for now we'll continue to use the form data"), so a field
// left out is missing on PyPI.
func carried(headers ...string) Check {
	return eachUpload(func(b Built, q *Request) string {
		for _, h := range headers {
			f := lookupMetaField(h)
			want := b.Meta.Header[textproto.CanonicalMIMEHeaderKey(f.Header)]
			if len(want) == 0 {
				panic("conform: case " + b.Filename + " lacks " + f.Header)
			}
			got := q.Values(f.Form)
			if p := compareField(f, want, got); p != "" {
				hint := ""
				if alt := nearbyFields(q, f.Form); alt != "" {
					hint = " (sent instead: " + alt + ")"
				}
				return fmt.Sprintf("%s: %s %s%s", b.Filename, p, f.Form, hint)
			}
		}
		return ""
	})
}

func compareField(f metaField, want, got []string) string {
	trim := func(vs []string) []string {
		out := make([]string, len(vs))
		for i, v := range vs {
			out[i] = strings.TrimSpace(v)
		}
		return out
	}
	want, got = trim(want), trim(got)
	switch {
	case len(got) == 0:
		return fmt.Sprintf("%s %s in the file's metadata was not sent as", f.Header, quoteList(want))
	case f.Form == "name":
		if pep503(got[0]) != pep503(want[0]) {
			return fmt.Sprintf("Name %q in the file's metadata was sent as a different project %q in", want[0], got[0])
		}
		return ""
	case f.Form == "keywords":
		// PyPI splits keywords on commas (metadata.py _parse_keywords);
		// "a,b" and "a, b" are the same keywords.
		if !slices.Equal(splitKeywords(want[0]), splitKeywords(strings.Join(got, ","))) {
			return fmt.Sprintf("Keywords %q in the file's metadata arrived as %q in", want[0], strings.Join(got, ","))
		}
		return ""
	case !f.Multi:
		if len(got) > 1 {
			return fmt.Sprintf("%s was sent %d times (PyPI refuses that) as", f.Header, len(got))
		}
		if got[0] != want[0] {
			return fmt.Sprintf("%s %q in the file's metadata arrived as %q in", f.Header, want[0], got[0])
		}
		return ""
	}
	norm := func(vs []string) []string {
		out := slices.Clone(vs)
		if f.Form == "dynamic" { // PyPI compares Dynamic values case-insensitively (title-cased)
			for i := range out {
				out[i] = strings.ToLower(out[i])
			}
		}
		slices.Sort(out)
		return out
	}
	w, g := norm(want), norm(got)
	if slices.Equal(w, g) {
		return ""
	}
	var missing, extra []string
	for _, v := range w {
		if !slices.Contains(g, v) {
			missing = append(missing, v)
		}
	}
	for _, v := range g {
		if !slices.Contains(w, v) {
			extra = append(extra, v)
		}
	}
	switch {
	case len(missing) > 0:
		return fmt.Sprintf("%s %s in the file's metadata was not sent as", f.Header, quoteList(missing))
	case len(extra) > 0:
		return fmt.Sprintf("%s values %s not in the file's metadata were sent as", f.Header, quoteList(extra))
	}
	return fmt.Sprintf("%s values repeated differently (%d in the file, %d sent) in", f.Header, len(w), len(g))
}

// nearbyFields names form fields sent under a near miss of name: the
// plural for the singular or the reverse (provides_extras for
// provides_extra), or dashes for underscores, for the problem message.
func nearbyFields(q *Request, name string) string {
	near := []string{name + "s", strings.TrimSuffix(name, "s"), strings.ReplaceAll(name, "_", "-")}
	var out []string
	for _, f := range q.Form {
		if f.Name != name && slices.Contains(near, strings.ToLower(f.Name)) && !slices.Contains(out, f.Name) {
			out = append(out, f.Name)
		}
	}
	return strings.Join(out, ", ")
}

func quoteList(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}

func splitKeywords(s string) []string {
	var out []string
	for _, k := range strings.Split(s, ",") {
		if k = strings.TrimSpace(k); k != "" {
			out = append(out, k)
		}
	}
	return out
}

var pep503Re = regexp.MustCompile(`[-_.]+`)

// pep503 is the normalized project name (PEP 503; warehouse's
// normalize_pep426_name).
func pep503(name string) string { return strings.ToLower(pep503Re.ReplaceAllString(name, "-")) }

// description: the file's description (the metadata body) is sent as
// description, the same text up to surrounding whitespace.
func description(r *CaseRun) string {
	return eachUpload(func(b Built, q *Request) string {
		want := strings.TrimSpace(b.Meta.Body)
		got, ok := q.Value("description")
		switch {
		case !ok:
			return b.Filename + ": the description (the metadata's body) was not sent as description"
		case strings.TrimSpace(got) != want:
			return fmt.Sprintf("%s: description differs from the file's: sent %q, want %q", b.Filename, short(got), short(want))
		}
		return ""
	})(r)
}

func short(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

// exitedWithin: the uploader exited by itself before the deadline (a
// timed-out run is already a problem; this names the case's point).
func exitedWithin(r *CaseRun) string {
	if r.TimedOut {
		return fmt.Sprintf("no failure in bounded time: still waiting after %s although FAKEPYPI_TIMEOUT was %s", r.Deadline, r.Transport)
	}
	return ""
}

// answered: the index gave status to an upload at least once, with a
// reason containing phrase: the case's precondition (it fails only when
// the uploader never got that far, e.g. it refused to upload at all).
func answered(status int, phrase string) Check {
	return func(r *CaseRun) string {
		for _, q := range r.Uploads() {
			if q.Status == status && strings.Contains(q.Reason, phrase) {
				return ""
			}
		}
		if len(r.Uploads()) == 0 {
			return "never uploaded, so never got PyPI's answer"
		}
		return fmt.Sprintf("the index never answered %d %s... (last, %s)", status, phrase, r.lastAnswer())
	}
}

// showsReason: the uploader printed PyPI's message, which PyPI sends only
// in the HTTP reason phrase (warehouse/forklift/utils.py
// _exc_with_message), for the first upload answered status. Whitespace
// is ignored: tools wrap long lines.
func showsReason(status int) Check {
	return func(r *CaseRun) string {
		for _, q := range r.Uploads() {
			if q.Status != status {
				continue
			}
			if !containsLoosely(r.Output(), q.Reason) {
				return fmt.Sprintf("did not show PyPI's message %q (the reason phrase of its %d answer)", q.Reason, status)
			}
			return ""
		}
		return fmt.Sprintf("no upload was answered %d", status)
	}
}

// containsLoosely reports whether s contains sub once all whitespace is
// removed from both (terminal wrapping inserts newlines and indentation).
func containsLoosely(s, sub string) bool {
	strip := func(x string) string {
		return strings.Map(func(r rune) rune {
			if unicode.IsSpace(r) {
				return -1
			}
			return r
		}, x)
	}
	return strings.Contains(strip(s), strip(sub))
}

// mentions: the output contains one of the words, case-insensitively.
func mentions(what string, words ...string) Check {
	return func(r *CaseRun) string {
		out := strings.ToLower(r.Output())
		for _, w := range words {
			if strings.Contains(out, strings.ToLower(w)) {
				return ""
			}
		}
		return fmt.Sprintf("did not say %s (output names none of %s)", what, quoteList(words))
	}
}

// noUpload: nothing was posted to the upload URL.
func noUpload(why string) Check {
	return func(r *CaseRun) string {
		if n := len(r.Uploads()); n > 0 {
			return fmt.Sprintf("uploaded %d time(s) %s", n, why)
		}
		return ""
	}
}

// attemptsAtMost: retries are bounded, per file.
func attemptsAtMost(n int) Check {
	return func(r *CaseRun) string {
		for _, b := range r.Dists {
			if k := len(r.uploadsOf(b)); k > n {
				return fmt.Sprintf("%s was posted %d times: retries must be bounded (at most %d attempts)", b.Filename, k, n)
			}
		}
		return ""
	}
}

// notPrinted: none of the secrets appears in the output, except on a
// GitHub Actions ::add-mask:: line, which the runner swallows and uses to
// mask the value everywhere else.
func notPrinted(what string, secrets func(r *CaseRun) []string) Check {
	return func(r *CaseRun) string {
		var lines []string
		for _, l := range strings.Split(r.Output(), "\n") {
			if !strings.HasPrefix(strings.TrimSpace(l), "::add-mask::") {
				lines = append(lines, l)
			}
		}
		out := strings.Join(lines, "\n")
		for _, s := range secrets(r) {
			if s == "" {
				continue
			}
			needles := []string{s}
			if tok, ok := strings.CutPrefix(s, "pypi-"); ok {
				needles = append(needles, tok) // the macaroon without its prefix
			}
			if parts := strings.Split(s, "."); len(parts) == 3 {
				needles = append(needles, parts[2]) // a JWT's signature alone
			}
			for _, n := range needles {
				if strings.Contains(out, n) {
					return "printed " + what + " in its output"
				}
			}
		}
		return ""
	}
}

// jwtClaims decodes a JWT's payload without verifying it.
func jwtClaims(tok string) map[string]any {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	return m
}
