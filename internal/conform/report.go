package conform

import (
	"bufio"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/rogpeppe/go-internal/txtar"
)

// WriteTable writes one line per case (id, verdict, reason) and a summary.
func (rep *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "CASE\tVERDICT\tREASON")
	for _, r := range rep.Results {
		reason := r.Reason
		if r.XFailReason != "" {
			switch r.Verdict {
			case XFail:
				reason += " [xfail: " + r.XFailReason + "]"
			case XPass:
				reason = "passed although listed as xfail: " + r.XFailReason
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.ID, r.Verdict, oneLine(reason))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	s := rep.Summary
	_, err := fmt.Fprintf(w, "\n%d cases: %d passed, %d failed, %d xfail, %d xpass, %d skipped in %.1fs\n",
		len(rep.Results), s.Passed, s.Failed, s.XFailed, s.XPassed, s.Skipped, rep.Seconds)
	return err
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:297] + "..."
	}
	return s
}

// WriteJSON writes the report as JSON.
func (rep *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// ReadReport reads a report written by WriteJSON.
func ReadReport(r io.Reader) (*Report, error) {
	var rep Report
	if err := json.NewDecoder(r).Decode(&rep); err != nil {
		return nil, err
	}
	return &rep, nil
}

// JUnit XML, as GitHub and GitLab test reporters read it.
type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the report as JUnit XML: FAIL is a failure, XFAIL and
// SKIP are skipped (with the reason), XPASS passes with a note.
func (rep *Report) WriteJUnit(w io.Writer) error {
	s := junitSuite{Name: "fakeindex conform: " + strings.Join(rep.Entrypoint, " "), Time: fmt.Sprintf("%.3f", rep.Seconds)}
	for _, r := range rep.Results {
		jc := junitCase{Name: r.ID, Classname: "conform." + strings.ReplaceAll(r.Tag, ":", "."), Time: fmt.Sprintf("%.3f", r.Seconds)}
		switch r.Verdict {
		case Fail:
			s.Failures++
			jc.Failure = &junitMessage{Message: oneLine(r.Reason), Text: r.Title + "\n\nRule: " + r.Rule + "\n\n" + strings.Join(r.Problems, "\n")}
		case XFail:
			s.Skipped++
			jc.Skipped = &junitMessage{Message: "xfail: " + r.XFailReason + " (" + oneLine(r.Reason) + ")"}
		case Skip:
			s.Skipped++
			jc.Skipped = &junitMessage{Message: r.Reason}
		case XPass:
			jc.SystemOut = "XPASS: passed although listed as xfail (" + r.XFailReason + ")"
		}
		s.Cases = append(s.Cases, jc)
	}
	s.Tests = len(s.Cases)
	io.WriteString(w, xml.Header)
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(junitSuites{Suites: []junitSuite{s}}); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// ReadXFail reads an xfail file: one case id per line followed by the
// reason; blank lines and lines starting with # are ignored.
func ReadXFail(r io.Reader, name string) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, reason, _ := strings.Cut(line, " ")
		reason = strings.TrimSpace(reason)
		if reason == "" {
			return nil, fmt.Errorf("%s:%d: %s has no reason (one id per line, then why it is expected to fail)", name, n, id)
		}
		if _, dup := out[id]; dup {
			return nil, fmt.Errorf("%s:%d: %s listed twice", name, n, id)
		}
		out[id] = reason
	}
	return out, sc.Err()
}

// WriteTranscripts writes DIR/<case>.txtar for every FAIL and XFAIL: the
// command, what the uploader printed, every request the index received
// with its answer, and the verdict, readable as a bug report.
func (rep *Report) WriteTranscripts(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, r := range rep.Results {
		if (r.Verdict != Fail && r.Verdict != XFail) || r.run == nil {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, r.ID+".txtar"), transcript(r), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func transcript(res *Result) []byte {
	r := res.run
	c := r.Case
	var cm strings.Builder
	fmt.Fprintf(&cm, "fakeindex conform: case %s, %s\n\n", c.ID, res.Verdict)
	fmt.Fprintf(&cm, "Expected: %s\nRule: %s\n\n", c.Title, c.Rule)
	fmt.Fprintf(&cm, "What went wrong:\n")
	for _, p := range res.Problems {
		fmt.Fprintf(&cm, "  - %s\n", p)
	}
	if res.XFailReason != "" {
		fmt.Fprintf(&cm, "Listed as xfail: %s\n", res.XFailReason)
	}
	exit := fmt.Sprint(r.ExitCode)
	if r.TimedOut {
		exit = "none: killed after " + r.Deadline.String()
	}
	fmt.Fprintf(&cm, "\nExit status: %s after %.1fs. The index received %d request(s), below.\n", exit, r.Duration.Seconds(), len(r.Requests))
	ar := &txtar.Archive{Comment: []byte(cm.String())}
	add := func(name string, data []byte) {
		if len(data) > 0 && data[len(data)-1] != '\n' {
			data = append(data, '\n')
		}
		ar.Files = append(ar.Files, txtar.File{Name: name, Data: data})
	}
	add("command", []byte(strings.Join(quoteArgs(r.Argv), " ")))
	var files strings.Builder
	for _, b := range r.Dists {
		fmt.Fprintf(&files, "%s  %d bytes  sha256=%s\n", b.Filename, len(b.Content), b.SHA256)
		for k, vs := range b.Meta.Header {
			for _, v := range vs {
				fmt.Fprintf(&files, "    %s: %s\n", k, v)
			}
		}
	}
	add("files", []byte(files.String()))
	add("stdout", r.Stdout)
	add("stderr", r.Stderr)
	for i, q := range r.Requests {
		add(fmt.Sprintf("request-%02d", i+1), requestText(r, q))
	}
	if len(r.Events) > 0 {
		// fakeindex's own account of each decision: what PyPI would not say.
		var ev strings.Builder
		for _, e := range r.Events {
			fmt.Fprintf(&ev, "%s %s", e.Kind, e.Verdict)
			if e.Status != 0 {
				fmt.Fprintf(&ev, " %d", e.Status)
			}
			if e.Code != "" {
				fmt.Fprintf(&ev, " %s", e.Code)
			}
			if e.Message != "" {
				fmt.Fprintf(&ev, ": %s", e.Message)
			}
			if e.Why != "" {
				fmt.Fprintf(&ev, " (why: %s)", e.Why)
			}
			ev.WriteString("\n")
		}
		add("index-events", []byte(redact(r, ev.String())))
	}
	return txtar.Format(ar)
}

func quoteArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, " '\"$\\") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out[i] = a
	}
	return out
}

// requestText renders a request as sent, with secrets named rather than
// shown, then the index's answer.
func requestText(r *CaseRun, q *Request) []byte {
	var b strings.Builder
	target := q.Path
	if q.RawQuery != "" {
		target += "?" + q.RawQuery
	}
	fmt.Fprintf(&b, "%s https://%s%s\n", q.Method, q.Host, target)
	keys := make([]string, 0, len(q.Header))
	for k := range q.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range q.Header[k] {
			if k == "Authorization" {
				v = describeAuth(r, q.Header)
			}
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	if len(q.Form) > 0 || q.Content != nil {
		b.WriteString("\n")
		for _, f := range q.Form {
			v := f.Value
			if strings.Contains(v, "\n") {
				v = strings.ReplaceAll(strings.TrimRight(v, "\n"), "\n", "\n    | ")
				v = "\n    | " + v
			}
			fmt.Fprintf(&b, "form %s = %s\n", f.Name, v)
		}
		if c := q.Content; c != nil {
			fmt.Fprintf(&b, "form content = file %q, Content-Type %q, %d bytes, sha256=%s\n", c.Filename, c.ContentType, c.Size, c.SHA256)
		}
	} else if len(q.Body) > 0 {
		fmt.Fprintf(&b, "\n%s\n", redact(r, string(q.Body)))
	}
	if q.BodyError != "" {
		fmt.Fprintf(&b, "(body: %s)\n", q.BodyError)
	}
	fmt.Fprintf(&b, "\n=> %s\n", q.answerText())
	if len(q.Answer) > 0 && q.Status != 200 || isMintPath(q.Path) {
		fmt.Fprintf(&b, "%s\n", redact(r, strings.TrimSpace(string(q.Answer))))
	}
	return []byte(b.String())
}

// describeAuth names the credential instead of printing it.
func describeAuth(r *CaseRun, h map[string][]string) string {
	scheme, user, secret := credentials(h)
	who := "an unknown secret"
	switch {
	case secret == "":
		who = "no secret"
	case secret == r.Token:
		who = "the token from FAKEPYPI_PASSWORD"
	default:
		for _, m := range r.Minted() {
			if secret == m {
				who = "the token minted by mint-token"
			}
		}
	}
	if user != "" {
		return fmt.Sprintf("%s (username %q, password: %s)", scheme, user, who)
	}
	return fmt.Sprintf("%s (%s)", scheme, who)
}

// redact replaces the case's secrets in s by their names.
func redact(r *CaseRun, s string) string {
	for _, m := range r.Minted() {
		s = strings.ReplaceAll(s, m, "<minted token>")
	}
	for _, t := range r.Issued {
		s = strings.ReplaceAll(s, t, "<OIDC token>")
	}
	if r.Token != "" {
		s = strings.ReplaceAll(s, r.Token, "<FAKEPYPI_PASSWORD>")
	}
	return s
}
