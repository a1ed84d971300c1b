package index

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fakepypi/fakepypi/internal/adminflag"
	"github.com/fakepypi/fakepypi/internal/apitoken"
	"github.com/fakepypi/fakepypi/internal/clock"
	"github.com/fakepypi/fakepypi/internal/events"
	"github.com/fakepypi/fakepypi/internal/indexconfig"
	"github.com/fakepypi/fakepypi/internal/oidc"
	"github.com/fakepypi/fakepypi/internal/publisher"
)

// These tests drive the /_fake/ control plane over real HTTP, the way
// scripts and other languages' test suites use it.

// ctl is a running index plus its test issuer.
type ctl struct {
	t   *testing.T
	s   *Server
	ti  *testIssuer
	url string
}

// startCtl starts the index on 127.0.0.1:0 with the test setup, the
// default clock (an Offset over real time), and then freezes that clock
// at t0 through /_fake/clock so the test issuer's tokens are current.
func startCtl(t *testing.T) *ctl {
	t.Helper()
	ti := newTestIssuer(t)
	f, err := indexconfig.Parse("test.yaml", []byte(testSetup))
	if err != nil {
		t.Fatal(err)
	}
	for _, svc := range oidc.Services {
		f.Issuers = append(f.Issuers, oidc.Issuer{URL: oidc.CanonicalIssuer(svc), Service: svc, Discovery: ti.srv.URL})
	}
	s, err := Start(Config{Setup: *f})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c := &ctl{t: t, s: s, ti: ti, url: s.URL()}
	c.mustOK("POST", "/_fake/clock", `{"freeze": true, "set": "2026-03-01T12:00:00Z"}`, nil)
	return c
}

// call sends one request and returns status, body and headers.
func (c *ctl) call(method, path, body string) (int, string, http.Header) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.url+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	jsonWrite(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// mustOK expects 200 with a JSON body and decodes it into v (if not nil).
func (c *ctl) mustOK(method, path, body string, v any) string {
	c.t.Helper()
	code, got, h := c.call(method, path, body)
	if code != http.StatusOK {
		c.t.Fatalf("%s %s: %d %s", method, path, code, got)
	}
	if ct := h.Get("Content-Type"); ct != "application/json" {
		c.t.Fatalf("%s %s: Content-Type %q", method, path, ct)
	}
	if v != nil {
		// Decode into a zero value: json.Unmarshal keeps the old values
		// of fields (and slice elements) that the new body omits.
		reflect.ValueOf(v).Elem().SetZero()
		if err := json.Unmarshal([]byte(got), v); err != nil {
			c.t.Fatalf("%s %s: %v in %s", method, path, err, got)
		}
	}
	return got
}

// mustStatus expects a status with an empty body (204).
func (c *ctl) mustNoContent(method, path string) {
	c.t.Helper()
	code, got, _ := c.call(method, path, "")
	if code != http.StatusNoContent || got != "" {
		c.t.Fatalf("%s %s: %d %q, want 204 and no body", method, path, code, got)
	}
}

// mustErr expects status and a {"error": ...} body equal to msg (or
// matching it, when msg starts with "~" followed by a regexp).
func (c *ctl) mustErr(method, path, body string, status int, msg string) {
	c.t.Helper()
	code, got, h := c.call(method, path, body)
	if code != status {
		c.t.Fatalf("%s %s %s: status %d, want %d (%s)", method, path, body, code, status, got)
	}
	if h.Get("Content-Type") != "application/json" {
		c.t.Fatalf("%s %s: Content-Type %q", method, path, h.Get("Content-Type"))
	}
	var e map[string]string
	if err := json.Unmarshal([]byte(got), &e); err != nil || len(e) != 1 {
		c.t.Fatalf("%s %s: error body %s is not {\"error\": ...}", method, path, got)
	}
	if re, ok := strings.CutPrefix(msg, "~"); ok {
		if !regexp.MustCompile(re).MatchString(e["error"]) {
			c.t.Fatalf("%s %s %s: error %q does not match %s", method, path, body, e["error"], re)
		}
	} else if e["error"] != msg {
		c.t.Fatalf("%s %s %s: error\n got %q\nwant %q", method, path, body, e["error"], msg)
	}
}

// mint posts a JWT to the exchange and returns status and body.
func (c *ctl) mint(jwt string) (int, string) {
	c.t.Helper()
	code, body, _ := c.call("POST", "/_/oidc/mint-token", mintBody(jwt))
	return code, body
}

// mintOK mints and returns the PyPI token.
func (c *ctl) mintOK(jwt string) string {
	c.t.Helper()
	code, body := c.mint(jwt)
	if code != 200 {
		c.t.Fatalf("mint: %d %s", code, body)
	}
	var r struct{ Token string }
	json.Unmarshal([]byte(body), &r)
	return r.Token
}

func (c *ctl) mintErr(jwt, code, desc string) {
	c.t.Helper()
	st, body := c.mint(jwt)
	if st != 422 || body != wantError(code, desc) {
		c.t.Fatalf("mint: %d %s\nwant 422 %s", st, body, wantError(code, desc))
	}
}

type clockJSON struct {
	Now    time.Time `json:"now"`
	Unix   int64     `json:"unix"`
	Frozen bool      `json:"frozen"`
}

func TestControlConfig(t *testing.T) {
	c := startCtl(t)
	var f indexconfig.File
	c.mustOK("GET", "/_fake/config", "", &f)
	if f.Audience != "pypi" || f.Domain != "pypi.org" || len(f.Flags) != 0 {
		t.Fatalf("audience/domain/flags = %q %q %v", f.Audience, f.Domain, f.Flags)
	}
	var users []string
	for _, u := range f.Users {
		users = append(users, fmt.Sprintf("%s:%v:%v", u.Name, *u.EmailVerified, *u.TwoFactor))
	}
	if got := strings.Join(users, " "); got != "alice:true:true bob:true:false" {
		t.Fatalf("users = %s", got)
	}
	var projects []string
	for _, p := range f.Projects {
		projects = append(projects, p.Name+"="+strings.Join(p.Owners, ","))
	}
	if got := strings.Join(projects, " "); !strings.Contains(got, "sampleproject=alice") || !strings.Contains(got, "other-project=bob") || len(f.Projects) != 2 {
		t.Fatalf("projects = %s", got)
	}
	if len(f.Publishers) != 1 || f.Publishers[0].Owner != "octo-org" || f.Publishers[0].ID == "" ||
		strings.Join(f.Publishers[0].Projects, ",") != "sampleproject" || len(f.PendingPublishers) != 0 {
		t.Fatalf("publishers = %+v pending %+v", f.Publishers, f.PendingPublishers)
	}
	var toks []string
	for _, tk := range f.Tokens {
		toks = append(toks, tk.Name+"@"+tk.User)
	}
	if got := strings.Join(toks, " "); len(toks) != 2 || !strings.Contains(got, "alice-all@alice") || !strings.Contains(got, "alice-sample@alice") {
		t.Fatalf("tokens = %s", got)
	}
	discovered := 0
	for _, is := range f.Issuers {
		if is.Discovery == c.ti.srv.URL && !is.Custom {
			discovered++
		}
	}
	if len(f.Issuers) != 4 || discovered != 4 {
		t.Fatalf("issuers = %+v", f.Issuers)
	}
	// The snapshot is itself a valid configuration file.
	if err := f.Validate(); err != nil {
		t.Fatalf("snapshot does not validate: %v", err)
	}
	// Live: a flag turned on shows up.
	c.mustOK("PUT", "/_fake/flags", `{"read-only": true}`, nil)
	c.mustOK("GET", "/_fake/config", "", &f)
	if strings.Join(f.Flags, ",") != "read-only" {
		t.Fatalf("flags after PUT = %v", f.Flags)
	}
}

func TestControlClock(t *testing.T) {
	c := startCtl(t)
	var st clockJSON
	c.mustOK("GET", "/_fake/clock", "", &st)
	if !st.Now.Equal(t0) || st.Unix != t0.Unix() || !st.Frozen {
		t.Fatalf("frozen clock = %+v", st)
	}
	// The wire shape: exactly now, unix, frozen.
	body := c.mustOK("GET", "/_fake/clock", "", nil)
	var raw map[string]any
	json.Unmarshal([]byte(body), &raw)
	if len(raw) != 3 || raw["now"] != "2026-03-01T12:00:00Z" || raw["frozen"] != true {
		t.Fatalf("clock body %s", body)
	}
	c.mustOK("POST", "/_fake/clock", `{"advance": "15m"}`, &st)
	if !st.Now.Equal(t0.Add(15*time.Minute)) || st.Unix != t0.Unix()+900 || !st.Frozen {
		t.Fatalf("after advance = %+v", st)
	}
	// Combined: freeze, then set, then advance (in that order).
	c.mustOK("POST", "/_fake/clock", `{"advance": "90s", "set": "2027-01-01T00:00:00Z", "freeze": true}`, &st)
	if want := time.Date(2027, 1, 1, 0, 1, 30, 0, time.UTC); !st.Now.Equal(want) {
		t.Fatalf("combined = %v, want %v", st.Now, want)
	}
	// Negative advances move back.
	c.mustOK("POST", "/_fake/clock", `{"advance": "-30s"}`, &st)
	if want := time.Date(2027, 1, 1, 0, 1, 0, 0, time.UTC); !st.Now.Equal(want) {
		t.Fatalf("advance -30s = %v", st.Now)
	}
	// Unfreeze: it runs again from where it stopped.
	c.mustOK("POST", "/_fake/clock", `{"freeze": false}`, &st)
	if st.Frozen || st.Now.Before(time.Date(2027, 1, 1, 0, 1, 0, 0, time.UTC)) || st.Now.After(time.Date(2027, 1, 1, 0, 2, 0, 0, time.UTC)) {
		t.Fatalf("unfrozen = %+v", st)
	}
	c.mustOK("GET", "/_fake/clock", "", &st)
	if st.Frozen {
		t.Fatalf("GET after unfreeze says frozen")
	}

	c.mustErr("POST", "/_fake/clock", `{"advance": "soon"}`, 400, `advance: time: invalid duration "soon" (use Go durations such as 90s or 15m)`)
	c.mustErr("POST", "/_fake/clock", `{"speed": 2}`, 400, `invalid JSON body: json: unknown field "speed"`)
	c.mustErr("POST", "/_fake/clock", `{"set": "tomorrow"}`, 400, `~^invalid JSON body: `)
	c.mustErr("POST", "/_fake/clock", `not json`, 400, `~^invalid JSON body: invalid character`)
}

// TestControlClockKinds: only settable clocks can be moved, and only an
// Offset can be frozen.
func TestControlClockKinds(t *testing.T) {
	fake, err := New(Config{Clock: clock.NewFake(t0)})
	if err != nil {
		t.Fatal(err)
	}
	code, body, _ := do(t, fake, "POST", "/_fake/clock", `{"freeze": true}`)
	if code != 400 || body != "{\n  \"error\": \"this server's clock cannot be frozen\"\n}\n" {
		t.Fatalf("freeze a Fake: %d %q", code, body)
	}
	code, body, _ = do(t, fake, "POST", "/_fake/clock", `{"advance": "1h"}`)
	var st clockJSON
	json.Unmarshal([]byte(body), &st)
	if code != 200 || !st.Now.Equal(t0.Add(time.Hour)) || st.Frozen {
		t.Fatalf("advance a Fake: %d %s", code, body)
	}
	real, err := New(Config{Clock: clock.Real{}})
	if err != nil {
		t.Fatal(err)
	}
	code, body, _ = do(t, real, "POST", "/_fake/clock", `{"advance": "1h"}`)
	if code != 400 || !strings.Contains(body, `"this server's clock cannot be changed"`) {
		t.Fatalf("advance a Real: %d %s", code, body)
	}
}

// TestControlClockExpiresToken: a minted token stops authorizing uploads
// once /_fake/clock moves 15 minutes on, both through Authorize and
// through a real POST /legacy/.
func TestControlClockExpiresToken(t *testing.T) {
	c := startCtl(t)
	tok := c.mintOK(c.ti.sign(t, githubClaims("jti-expiry")))
	sample, _ := c.s.Catalog.Project("sampleproject")
	id := c.s.Tokens.Identify(tok)
	if id.Kind != apitoken.KindPublisher {
		t.Fatalf("identity %+v", id)
	}
	if err := c.s.Tokens.Authorize(id, AuthProject(sample)); err != nil {
		t.Fatalf("fresh token: %v", err)
	}
	// A real upload works now.
	if code, status := c.upload(tok, "sampleproject", "1.0"); code != 200 {
		t.Fatalf("upload with a fresh token: %s", status)
	}
	c.mustOK("POST", "/_fake/clock", `{"advance": "14m59s"}`, nil)
	if err := c.s.Tokens.Authorize(id, AuthProject(sample)); err != nil {
		t.Fatalf("at 899 s: %v", err)
	}
	c.mustOK("POST", "/_fake/clock", `{"advance": "1s"}`, nil)
	wantErr(t, c.s.Tokens.Authorize(id, AuthProject(sample)), 403, "Invalid API Token: token is expired")
	if code, status := c.upload(tok, "sampleproject", "1.1"); code != 403 || status != "403 Invalid API Token: token is expired" {
		t.Fatalf("upload with an expired token: %s", status)
	}
	// The upload was recorded as an event.
	ev, ok := c.s.Events.Last(events.KindUpload)
	if !ok || ev.Verdict != "error" || ev.Status != 403 {
		t.Fatalf("last upload event = %+v", ev)
	}
}

// upload posts a minimal valid wheel with twine's form fields and returns
// the status code and status line.
func (c *ctl) upload(token, name, version string) (int, string) {
	c.t.Helper()
	whl := testWheel(name, version)
	sum := sha256.Sum256(whl)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, kv := range [][2]string{
		{":action", "file_upload"}, {"protocol_version", "1"}, {"metadata_version", "2.1"},
		{"name", name}, {"version", version}, {"filetype", "bdist_wheel"}, {"pyversion", "py3"},
		{"sha256_digest", hex.EncodeToString(sum[:])},
	} {
		mw.WriteField(kv[0], kv[1])
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="content"; filename="%s-%s-py3-none-any.whl"`, name, version))
	h.Set("Content-Type", "application/octet-stream")
	w, _ := mw.CreatePart(h)
	w.Write(whl)
	mw.Close()
	req, _ := http.NewRequest("POST", c.url+"/legacy/", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.SetBasicAuth("__token__", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Status
}

// testWheel builds a wheel PyPI accepts: METADATA, WHEEL and RECORD,
// stored without data descriptors.
func testWheel(name, version string) []byte {
	di := name + "-" + version + ".dist-info/"
	files := [][2]string{
		{name + "/__init__.py", "X = 1\n"},
		{di + "METADATA", "Metadata-Version: 2.1\nName: " + name + "\nVersion: " + version + "\n\n"},
		{di + "WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
	}
	var record strings.Builder
	for _, f := range files {
		sum := sha256.Sum256([]byte(f[1]))
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", f[0], base64.RawURLEncoding.EncodeToString(sum[:]), len(f[1]))
	}
	record.WriteString(di + "RECORD,,\n")
	files = append(files, [2]string{di + "RECORD", record.String()})
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		data := []byte(f[1])
		fh := &zip.FileHeader{Name: f[0], Method: zip.Store, CRC32: crc32.ChecksumIEEE(data),
			CompressedSize64: uint64(len(data)), UncompressedSize64: uint64(len(data)), Modified: t0}
		w, _ := zw.CreateRaw(fh)
		w.Write(data)
	}
	zw.Close()
	return buf.Bytes()
}

func TestControlEvents(t *testing.T) {
	c := startCtl(t)
	c.mintOK(c.ti.sign(t, githubClaims("jti-ev1")))
	c.mintErr(c.ti.sign(t, githubClaims("jti-ev1")), "invalid-reuse-token", "invalid token: already used")
	c.upload("pypi-garbage", "sampleproject", "1.0")

	type evList struct {
		Events []events.Event `json:"events"`
	}
	var all, mints, since, uploads evList
	c.mustOK("GET", "/_fake/events", "", &all)
	if len(all.Events) != 3 || all.Events[0].Kind != "mint" || all.Events[0].Verdict != "ok" ||
		all.Events[1].Code != "invalid-reuse-token" || all.Events[1].Status != 422 || all.Events[2].Kind != "upload" {
		t.Fatalf("events = %+v", all.Events)
	}
	if all.Events[0].Seq >= all.Events[1].Seq || all.Events[1].Seq >= all.Events[2].Seq {
		t.Fatalf("sequence numbers not increasing: %+v", all.Events)
	}
	if !all.Events[0].Time.Equal(t0) {
		t.Fatalf("event time %v, want the index clock %v", all.Events[0].Time, t0)
	}
	c.mustOK("GET", "/_fake/events?kind=mint", "", &mints)
	if len(mints.Events) != 2 || mints.Events[0].Kind != "mint" || mints.Events[1].Kind != "mint" {
		t.Fatalf("kind=mint = %+v", mints.Events)
	}
	c.mustOK("GET", "/_fake/events?kind=upload", "", &uploads)
	if len(uploads.Events) != 1 || uploads.Events[0].Status != 403 {
		t.Fatalf("kind=upload = %+v", uploads.Events)
	}
	c.mustOK("GET", fmt.Sprintf("/_fake/events?since=%d", all.Events[0].Seq), "", &since)
	if len(since.Events) != 2 || since.Events[0].Seq != all.Events[1].Seq {
		t.Fatalf("since = %+v", since.Events)
	}
	c.mustOK("GET", fmt.Sprintf("/_fake/events?kind=mint&since=%d", all.Events[0].Seq), "", &since)
	if len(since.Events) != 1 || since.Events[0].Code != "invalid-reuse-token" {
		t.Fatalf("kind+since = %+v", since.Events)
	}
	c.mustErr("GET", "/_fake/events?since=yesterday", "", 400, "since must be an event sequence number")

	c.mustNoContent("DELETE", "/_fake/events")
	if body := c.mustOK("GET", "/_fake/events", "", nil); body != "{\n  \"events\": []\n}\n" {
		t.Fatalf("after reset: %q", body)
	}
	// Sequence numbers keep growing after a reset, so since= stays valid.
	c.mintErr(c.ti.sign(t, githubClaims("jti-ev1")), "invalid-reuse-token", "invalid token: already used")
	c.mustOK("GET", fmt.Sprintf("/_fake/events?since=%d", all.Events[2].Seq), "", &since)
	if len(since.Events) != 1 || since.Events[0].Seq <= all.Events[2].Seq {
		t.Fatalf("after reset, since = %+v", since.Events)
	}
}

func TestControlAudience(t *testing.T) {
	c := startCtl(t)
	if body := c.mustOK("GET", "/_fake/audience", "", nil); body != "{\n  \"audience\": \"pypi\"\n}\n" {
		t.Fatalf("audience = %q", body)
	}
	var a map[string]string
	c.mustOK("PUT", "/_fake/audience", `{"audience": "testpypi"}`, &a)
	if a["audience"] != "testpypi" || len(a) != 1 {
		t.Fatalf("PUT audience = %v", a)
	}
	c.mustOK("GET", "/_fake/audience", "", &a)
	if a["audience"] != "testpypi" {
		t.Fatalf("GET after PUT = %v", a)
	}
	if code, body, _ := c.call("GET", "/_/oidc/audience", ""); code != 200 || body != `{"audience":"testpypi"}` {
		t.Fatalf("PyPI audience = %d %s", code, body)
	}
	// Tokens for the old audience are now refused, the new one minted.
	c.mintErr(c.ti.sign(t, githubClaims("jti-aud1")), "invalid-token", "malformed or invalid token")
	if ev, _ := c.s.Events.Last("mint"); !strings.Contains(ev.Why, `"testpypi"`) {
		t.Fatalf("why = %q", ev.Why)
	}
	cl := githubClaims("jti-aud2")
	cl["aud"] = "testpypi"
	c.mintOK(c.ti.sign(t, cl))
	// POST works as PUT.
	c.mustOK("POST", "/_fake/audience", `{"audience": "pypi"}`, &a)
	c.mintOK(c.ti.sign(t, githubClaims("jti-aud3")))

	c.mustErr("PUT", "/_fake/audience", `{"audience": ""}`, 400, "audience must not be empty")
	c.mustErr("PUT", "/_fake/audience", `{}`, 400, "audience must not be empty")
	c.mustErr("PUT", "/_fake/audience", `{"aud": "x"}`, 400, `invalid JSON body: json: unknown field "aud"`)
	c.mustErr("PUT", "/_fake/audience", `{"audience": 7}`, 400, `~^invalid JSON body: json: cannot unmarshal number`)
	c.mustOK("GET", "/_fake/audience", "", &a)
	if a["audience"] != "pypi" {
		t.Fatalf("a refused PUT changed the audience: %v", a)
	}
}

func TestControlFlags(t *testing.T) {
	c := startCtl(t)
	var flags map[string]bool
	c.mustOK("GET", "/_fake/flags", "", &flags)
	if len(flags) != len(adminflag.Known) {
		t.Fatalf("flags = %v", flags)
	}
	for _, name := range adminflag.Known {
		if on, ok := flags[name]; !ok || on {
			t.Fatalf("flag %s = %v, %v", name, on, ok)
		}
	}
	c.mustOK("PUT", "/_fake/flags", `{"disallow-oidc": true}`, &flags)
	if !flags["disallow-oidc"] || flags["disallow-github-oidc"] {
		t.Fatalf("after PUT = %v", flags)
	}
	if code, body, _ := c.call("GET", "/_/oidc/audience", ""); code != 403 || body != `{"message":"Trusted publishing functionality not enabled"}` {
		t.Fatalf("audience with disallow-oidc = %d %s", code, body)
	}
	c.mintErr(c.ti.sign(t, githubClaims("jti-fl1")), "not-enabled", "github trusted publishing functionality not enabled")

	// Unknown names are refused and nothing changes (not even the valid ones).
	c.mustErr("PUT", "/_fake/flags", `{"disallow-oidc": false, "disallow-everything": true}`, 400,
		`unknown admin flag "disallow-everything" (known: [disallow-oidc disallow-github-oidc disallow-gitlab-oidc disallow-google-oidc disallow-activestate-oidc read-only disallow-new-upload disallow-new-project-registration disable-pep740 disable-upload-scanning])`)
	c.mustOK("GET", "/_fake/flags", "", &flags)
	if !flags["disallow-oidc"] {
		t.Fatalf("a refused PUT turned disallow-oidc off")
	}
	c.mustErr("PUT", "/_fake/flags", `{"disallow-oidc": "no"}`, 400, `~^invalid JSON body: json: cannot unmarshal string`)

	// Per-issuer flag: GitHub mints refused, the audience served.
	c.mustOK("POST", "/_fake/flags", `{"disallow-oidc": false, "disallow-github-oidc": true}`, &flags)
	if flags["disallow-oidc"] || !flags["disallow-github-oidc"] {
		t.Fatalf("after POST = %v", flags)
	}
	if code, _, _ := c.call("GET", "/_/oidc/audience", ""); code != 200 {
		t.Fatalf("audience with a per-issuer flag = %d", code)
	}
	// The refused JWT was not consumed: its jti still works once allowed.
	c.mintErr(c.ti.sign(t, githubClaims("jti-fl1")), "not-enabled", "github trusted publishing functionality not enabled")
	c.mustOK("PUT", "/_fake/flags", `{"disallow-github-oidc": false}`, nil)
	c.mintOK(c.ti.sign(t, githubClaims("jti-fl1")))

	// Upload flags reach the upload endpoint.
	c.mustOK("PUT", "/_fake/flags", `{"read-only": true}`, nil)
	tok, _ := c.s.Token("alice-all")
	if code, status := c.upload(tok, "sampleproject", "1.0"); code != 403 || status != "403 Read-only mode: Uploads are temporarily disabled." {
		t.Fatalf("upload in read-only mode: %s", status)
	}
}

func TestControlIssuers(t *testing.T) {
	c := startCtl(t)
	var list []oidc.Issuer
	c.mustOK("GET", "/_fake/issuers", "", &list)
	if len(list) != 4 || list[0].Custom {
		t.Fatalf("issuers = %+v", list)
	}
	const custom = "https://gitlab.example.com"
	var got oidc.Issuer
	c.mustOK("POST", "/_fake/issuers", `{"url": "`+custom+`", "service": "gitlab", "discovery": "`+c.ti.srv.URL+`"}`, &got)
	if got.URL != custom || got.Service != "gitlab" || !got.Custom || got.Discovery != c.ti.srv.URL {
		t.Fatalf("added issuer = %+v", got)
	}
	c.mustOK("GET", "/_fake/issuers", "", &list)
	if len(list) != 5 || list[4].URL != custom {
		t.Fatalf("issuers after add = %+v", list)
	}

	// A GitLab publisher on the custom instance now mints.
	var pub publisher.Publisher
	c.mustOK("POST", "/_fake/publishers", `{"service": "gitlab", "namespace": "group", "project": "sampleproject",
		"workflow_filepath": ".gitlab-ci.yml", "issuer_url": "`+custom+`", "projects": ["sampleproject"]}`, &pub)
	claims := gitlabClaims(custom, "jti-gl1")
	c.mintOK(c.ti.sign(t, claims))

	// Custom issuers see only the global flag.
	c.mustOK("PUT", "/_fake/flags", `{"disallow-gitlab-oidc": true}`, nil)
	c.mintOK(c.ti.sign(t, gitlabClaims(custom, "jti-gl2")))
	c.mustOK("PUT", "/_fake/flags", `{"disallow-gitlab-oidc": false}`, nil)

	c.mustErr("POST", "/_fake/issuers", `{"url": "https://x.example", "service": "bitbucket"}`, 400,
		`issuer "https://x.example": unknown service "bitbucket" (want github, gitlab, google or activestate)`)
	c.mustErr("POST", "/_fake/issuers", `{"url": "https://token.actions.githubusercontent.com", "service": "gitlab"}`, 400,
		`issuer "https://token.actions.githubusercontent.com" is github's canonical issuer, not gitlab`)
	c.mustErr("POST", "/_fake/issuers", `{"service": "gitlab"}`, 400, "issuer url is empty")
	c.mustErr("POST", "/_fake/issuers", `{"url": "https://x.example", "service": "gitlab", "kind": 1}`, 400, `invalid JSON body: json: unknown field "kind"`)

	c.mustNoContent("DELETE", "/_fake/issuers?url="+custom)
	c.mustErr("DELETE", "/_fake/issuers?url="+custom, "", 404, `no issuer "https://gitlab.example.com"`)
	c.mustErr("DELETE", "/_fake/issuers", "", 404, `no issuer ""`)
	c.mintErr(c.ti.sign(t, gitlabClaims(custom, "jti-gl3")), "invalid-payload", "unknown trusted publishing issuer")

	// A canonical issuer stays, back at its real discovery URL.
	c.mustNoContent("DELETE", "/_fake/issuers?url="+oidc.GoogleIssuer)
	c.mustOK("GET", "/_fake/issuers", "", &list)
	found := false
	for _, is := range list {
		if is.URL == oidc.GoogleIssuer {
			found = true
			if is.Discovery != "" || is.Service != "google" {
				t.Fatalf("reset canonical issuer = %+v", is)
			}
		}
	}
	if !found || len(list) != 4 {
		t.Fatalf("issuers after removing the canonical Google = %+v", list)
	}
}

func gitlabClaims(iss, jti string) map[string]any {
	now := t0.Unix()
	host := strings.TrimPrefix(iss, "https://")
	return map[string]any{
		"iss": iss, "aud": "pypi", "iat": now, "nbf": now, "exp": now + 300, "jti": jti,
		"sub":               "project_path:group/sampleproject:ref_type:tag:ref:v1.0",
		"project_path":      "group/sampleproject",
		"ci_config_ref_uri": host + "/group/sampleproject//.gitlab-ci.yml@refs/tags/v1.0",
		"ref_path":          "refs/tags/v1.0", "sha": "0123456789abcdef0123456789abcdef01234567",
	}
}

func TestControlUsersAndProjects(t *testing.T) {
	c := startCtl(t)
	var u apitoken.User
	c.mustOK("POST", "/_fake/users", `{"name": "carol", "two_factor": false}`, &u)
	if u.Name != "carol" || !u.EmailVerified || u.TwoFactor || u.ID != apitoken.UserID("carol") {
		t.Fatalf("carol = %+v", u)
	}
	c.mustErr("POST", "/_fake/users", `{"two_factor": false}`, 400, "user needs a name")
	c.mustErr("POST", "/_fake/users", `{"name": "x", "admin": true}`, 400, `invalid JSON body: json: unknown field "admin"`)
	var users []apitoken.User
	c.mustOK("GET", "/_fake/users", "", &users)
	if len(users) != 3 || users[0].Name != "alice" || users[2].Name != "carol" {
		t.Fatalf("users = %+v", users)
	}

	var projects []indexconfig.Project
	c.mustOK("GET", "/_fake/projects", "", &projects)
	if len(projects) != 2 {
		t.Fatalf("projects = %+v", projects)
	}
	var p struct {
		ID             string `json:"id"`
		Name           string `json:"name"`
		NormalizedName string `json:"normalized_name"`
		UploadLimit    int64  `json:"upload_limit"`
	}
	c.mustOK("POST", "/_fake/projects", `{"name": "Carols_Tool", "owners": ["carol"], "maintainers": ["alice"]}`, &p)
	if p.Name != "Carols_Tool" || p.NormalizedName != "carols-tool" || p.ID == "" || p.UploadLimit != 100<<20 {
		t.Fatalf("created = %+v", p)
	}
	c.mustOK("GET", "/_fake/projects", "", &projects)
	var names []string
	for _, pr := range projects {
		names = append(names, pr.Name+"="+strings.Join(pr.Owners, ",")+"/"+strings.Join(pr.Maintainers, ","))
	}
	if !strings.Contains(strings.Join(names, " "), "Carols_Tool=carol/alice") || len(projects) != 3 {
		t.Fatalf("projects = %v", names)
	}
	// carol has no 2FA: her token's upload is refused with PyPI's text.
	var tk map[string]string
	c.mustOK("POST", "/_fake/tokens", `{"name": "carol-tok", "user": "carol"}`, &tk)
	if code, status := c.upload(tk["token"], "Carols_Tool", "1.0"); code != 403 ||
		status != "403 User 'carol', associated with the API token used, does not have two-factor authentication enabled. Please enable two-factor authentication before attempting to upload to PyPI. See https://pypi.org/help/#two-factor-authentication for more information." {
		t.Fatalf("carol's upload: %s", status)
	}

	c.mustErr("POST", "/_fake/projects", `{"owners": ["alice"]}`, 400, "project needs a name")
	c.mustErr("POST", "/_fake/projects", `{"name": "x", "owners": ["dave"]}`, 400, `user "dave" does not exist`)
	c.mustErr("POST", "/_fake/projects", `{"name": "x", "maintainers": ["erin"]}`, 400, `user "erin" does not exist`)
	c.mustErr("POST", "/_fake/projects", `{"name": "carols-tool"}`, 400, "catalog: project already exists")
	c.mustErr("POST", "/_fake/projects", `{"name": "x", "owner": "alice"}`, 400, `invalid JSON body: json: unknown field "owner"`)

	// Configured projects skip create_project's rules (an admin made
	// them: a standard-library name is fine), but never take a name PyPI
	// could not hold (issue 11 item 9: "../../x" was accepted).
	c.mustOK("POST", "/_fake/projects", `{"name": "asyncio"}`, nil)
	for _, bad := range []string{"../../x", "requests2-", "-x", "a b", "x/y", "é"} {
		b, _ := json.Marshal(map[string]string{"name": bad})
		c.mustErr("POST", "/_fake/projects", string(b), 400, "~is not a valid project name: it must start and end with an ASCII letter or digit")
	}

	c.mustNoContent("DELETE", "/_fake/projects/Carols.Tool") // any spelling
	code, _, _ := c.call("DELETE", "/_fake/projects/carols-tool", "")
	if code != 404 {
		t.Fatalf("second delete = %d", code)
	}
	c.mustOK("GET", "/_fake/projects", "", &projects)
	for _, pr := range projects {
		if pr.Name == "Carols_Tool" {
			t.Fatalf("deleted project still listed")
		}
	}
	if _, ok := c.s.Catalog.Project("carols-tool"); ok {
		t.Fatalf("deleted project still in the catalog")
	}
}

func TestControlPublishers(t *testing.T) {
	c := startCtl(t)
	var list []publisher.Publisher
	c.mustOK("GET", "/_fake/publishers", "", &list)
	if len(list) != 1 {
		t.Fatalf("publishers = %+v", list)
	}
	orig := list[0].ID

	// A second publisher, with an environment (stored lowercased).
	var pub publisher.Publisher
	body := c.mustOK("POST", "/_fake/publishers", `{"service": "github", "owner": "octo-org", "repository": "other-project",
		"workflow_filename": "publish.yaml", "environment": "PyPI", "projects": ["Other_Project"]}`, &pub)
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`).MatchString(pub.ID) ||
		pub.Environment != "pypi" || strings.Join(pub.Projects, ",") != "other-project" || pub.Pending {
		t.Fatalf("added = %s", body)
	}
	var raw map[string]any
	json.Unmarshal([]byte(body), &raw)
	if _, ok := raw["pending"]; ok {
		t.Fatalf("normal publisher JSON has pending: %s", body)
	}
	c.mustOK("GET", "/_fake/publishers", "", &list)
	if len(list) != 2 || list[1].ID != pub.ID {
		t.Fatalf("publishers after add = %+v", list)
	}
	// It matches its token.
	cl := githubClaims("jti-pub1")
	cl["repository"] = "octo-org/other-project"
	cl["job_workflow_ref"] = "octo-org/other-project/.github/workflows/publish.yaml@refs/tags/v1.0"
	cl["environment"] = "PYPI"
	tok := c.mintOK(c.ti.sign(t, cl))
	other, _ := c.s.Catalog.Project("other-project")
	if err := c.s.Tokens.Authorize(c.s.Tokens.Identify(tok), AuthProject(other)); err != nil {
		t.Fatalf("token of the added publisher: %v", err)
	}
	// Duplicates of PyPI's unique key are refused.
	c.mustErr("POST", "/_fake/publishers", `{"service": "github", "owner": "octo-org", "repository": "other-project",
		"workflow_filename": "publish.yaml", "environment": "pypi", "projects": ["other-project"]}`, 400,
		"an identical publisher already exists: GitHub octo-org/other-project workflow publish.yaml environment pypi ["+pub.ID+"]")

	// Deleting it: the next mint has no publisher, and its token is dead.
	c.mustNoContent("DELETE", "/_fake/publishers/"+pub.ID)
	cl["jti"] = "jti-pub2"
	c.mintErr(c.ti.sign(t, cl), "invalid-publisher", "valid token, but no corresponding publisher (Publisher with matching claims was not found)")
	if id := c.s.Tokens.Identify(tok); !id.IsNone() {
		t.Fatalf("token of a deleted publisher still identifies: %+v", id)
	}
	c.mustErr("DELETE", "/_fake/publishers/"+pub.ID, "", 404, `no such publisher "`+pub.ID+`"`)
	c.mustErr("DELETE", "/_fake/pending-publishers/"+orig, "", 404, `no such publisher "`+orig+`"`)
	c.mustOK("GET", "/_fake/publishers", "", &list)
	if len(list) != 1 || list[0].ID != orig {
		t.Fatalf("publishers after delete = %+v", list)
	}

	for _, tc := range []struct{ body, msg string }{
		{`{"service": "github", `, "~^invalid JSON body: "},
		{`[]`, "~^invalid JSON body: json: cannot unmarshal array"},
		{`{"service": "github", "repo": "x"}`, `invalid JSON body: json: unknown field "repo"`},
		{`{"service": "bitbucket", "projects": ["sampleproject"]}`, `unknown publisher service "bitbucket" (want github, gitlab, google or activestate)`},
		{`{"projects": ["sampleproject"]}`, `unknown publisher service "" (want github, gitlab, google or activestate)`},
		{`{"service": "github", "projects": ["sampleproject"]}`,
			"GitHub publisher needs owner\nGitHub publisher needs repository\nGitHub publisher needs workflow_filename"},
		{`{"service": "github", "owner": "o", "repository": "r", "workflow_filename": ".github/workflows/x.yml"}`,
			`workflow_filename ".github/workflows/x.yml" must be a filename only, without directories`},
		{`{"service": "github", "owner": "o", "repository": "r", "workflow_filename": "x.json"}`,
			`workflow_filename "x.json" must end with .yml or .yaml`},
		{`{"service": "gitlab", "namespace": " ", "project": "p", "workflow_filepath": "ci.txt"}`,
			"GitLab publisher needs namespace\nworkflow_filepath \"ci.txt\" must end with .yml or .yaml"},
		{`{"service": "google"}`, "Google publisher needs email"},
		{`{"service": "activestate", "organization": "o"}`, "ActiveState publisher needs project\nActiveState publisher needs actor"},
		{`{"service": "google", "email": "a@b.c", "projects": ["nope"]}`, `project "nope" does not exist`},
		{`{"id": "not-a-uuid", "service": "google", "email": "a@b.c"}`, `id "not-a-uuid" is not a UUID`},
		{`{"id": "` + orig + `", "service": "google", "email": "a@b.c"}`, "publisher id " + orig + " already exists"},
	} {
		c.mustErr("POST", "/_fake/publishers", tc.body, 400, tc.msg)
	}
	c.mustOK("GET", "/_fake/publishers", "", &list)
	if len(list) != 1 {
		t.Fatalf("a refused POST added a publisher: %+v", list)
	}
}

func TestControlPendingPublishers(t *testing.T) {
	c := startCtl(t)
	var pend publisher.Publisher
	body := c.mustOK("POST", "/_fake/pending-publishers", `{"service": "github", "owner": "octo-org", "repository": "brand-new",
		"workflow_filename": "release.yml", "project_name": "Brand_New"}`, &pend)
	if !pend.Pending || pend.AddedBy != DefaultUser || pend.ProjectName != "Brand_New" || pend.ID == "" {
		t.Fatalf("pending = %s", body)
	}
	var list []publisher.Publisher
	c.mustOK("GET", "/_fake/pending-publishers", "", &list)
	if len(list) != 1 || list[0].ID != pend.ID {
		t.Fatalf("pending list = %+v", list)
	}
	c.mustOK("GET", "/_fake/publishers", "", &list)
	if len(list) != 1 {
		t.Fatalf("pending publisher listed among normal ones: %+v", list)
	}
	// The default registrant exists as a user now.
	var users []apitoken.User
	c.mustOK("GET", "/_fake/users", "", &users)
	if users[len(users)-1].Name != DefaultUser {
		t.Fatalf("users = %+v", users)
	}
	c.mustErr("DELETE", "/_fake/publishers/"+pend.ID, "", 404, `no such publisher "`+pend.ID+`"`)

	// Mint creates the project and reifies the publisher.
	cl := githubClaims("jti-pend1")
	cl["repository"] = "octo-org/brand-new"
	cl["job_workflow_ref"] = "octo-org/brand-new/.github/workflows/release.yml@refs/tags/v1.0"
	c.mintOK(c.ti.sign(t, cl))
	if body := c.mustOK("GET", "/_fake/pending-publishers", "", nil); body != "[]\n" {
		t.Fatalf("pending after mint = %q", body)
	}
	c.mustOK("GET", "/_fake/publishers", "", &list)
	if len(list) != 2 || strings.Join(list[1].Projects, ",") != "Brand_New" || list[1].Pending {
		t.Fatalf("publishers after reification = %+v", list)
	}
	var projects []indexconfig.Project
	c.mustOK("GET", "/_fake/projects", "", &projects)
	found := false
	for _, p := range projects {
		if p.Name == "Brand_New" {
			found = strings.Join(p.Owners, ",") == DefaultUser
		}
	}
	if !found {
		t.Fatalf("created project (owned by %s) missing: %+v", DefaultUser, projects)
	}

	// Added by a named user, then deleted before use.
	c.mustOK("POST", "/_fake/pending-publishers", `{"service": "google", "email": "ci@p.iam.gserviceaccount.com",
		"project_name": "gproj", "added_by": "alice"}`, &pend)
	if pend.AddedBy != "alice" {
		t.Fatalf("added_by = %q", pend.AddedBy)
	}
	c.mustNoContent("DELETE", "/_fake/pending-publishers/"+pend.ID)
	c.mustErr("DELETE", "/_fake/pending-publishers/"+pend.ID, "", 404, `no such publisher "`+pend.ID+`"`)

	for _, tc := range []struct{ body, msg string }{
		{`{"service": "google", "email": "a@b.c", "project_name": "p", "added_by": "zed"}`, `added_by "zed" is not a user`},
		{`{"service": "google", "email": "a@b.c", "project_name": "-bad-"}`, `pending publisher project_name "-bad-" is not a valid project name`},
		{`{"service": "google", "email": "a@b.c"}`, `pending publisher project_name "" is not a valid project name`},
		{`{"service": "google", "email": "a@b.c", "project_name": "p", "projects": ["sampleproject"]}`,
			"a pending publisher is not attached to projects; it names project_name"},
		{`{"service": "google", "email": "a@b.c", "project_name": "p", "pending": false, "x": 1}`, `invalid JSON body: json: unknown field "x"`},
	} {
		c.mustErr("POST", "/_fake/pending-publishers", tc.body, 400, tc.msg)
	}
	if body := c.mustOK("GET", "/_fake/pending-publishers", "", nil); body != "[]\n" {
		t.Fatalf("a refused POST added a pending publisher: %s", body)
	}
}

func TestControlTokens(t *testing.T) {
	c := startCtl(t)
	var list []apitoken.TokenInfo
	c.mustOK("GET", "/_fake/tokens", "", &list)
	if len(list) != 2 {
		t.Fatalf("tokens = %+v", list)
	}
	sample, _ := c.s.Catalog.Project("sampleproject")
	other, _ := c.s.Catalog.Project("other-project")

	var tk map[string]string
	c.mustOK("POST", "/_fake/tokens", `{"name": "t1", "user": "alice", "projects": ["SampleProject"]}`, &tk)
	if len(tk) != 2 || tk["name"] != "t1" || !strings.HasPrefix(tk["token"], "pypi-AgEIcHlwaS5vcmcCJ") {
		t.Fatalf("POST tokens = %v", tk)
	}
	c.mustOK("GET", "/_fake/tokens", "", &list)
	var info *apitoken.TokenInfo
	for i := range list {
		if list[i].Name == "t1" {
			info = &list[i]
		}
	}
	if info == nil || info.Kind != "user" || info.User != "alice" || info.Token != tk["token"] ||
		strings.Join(info.Caveats, " ") != `[1,["sampleproject"]] [2,["`+sample.ID.String()+`"]]` {
		t.Fatalf("listed = %+v", info)
	}
	id := c.s.Tokens.Identify(tk["token"])
	if err := c.s.Tokens.Authorize(id, AuthProject(sample)); err != nil {
		t.Fatal(err)
	}
	wantErr(t, c.s.Tokens.Authorize(id, AuthProject(other)), 403, "Invalid API Token: project-scoped token is not valid for project: 'other-project'")

	// A minted OIDC token is listed too, after the user tokens.
	c.mintOK(c.ti.sign(t, githubClaims("jti-tok1")))
	c.mustOK("GET", "/_fake/tokens", "", &list)
	last := list[len(list)-1]
	if len(list) != 4 || last.Kind != "publisher" || last.Expires != t0.Unix()+900 || last.Token != "" || len(last.Caveats) != 3 {
		t.Fatalf("tokens after mint = %+v", list)
	}

	c.mustNoContent("DELETE", "/_fake/tokens/t1")
	if id := c.s.Tokens.Identify(tk["token"]); !id.IsNone() {
		t.Fatalf("revoked token still identifies")
	}
	if code, status := c.upload(tk["token"], "sampleproject", "1.0"); code != 403 || status != "403 "+apitoken.MsgNoIdentity("") {
		t.Fatalf("upload with a revoked token: %s", status)
	}
	c.mustErr("DELETE", "/_fake/tokens/t1", "", 404, `no token "t1"`)
	// By identifier.
	c.mustNoContent("DELETE", "/_fake/tokens/"+last.ID)
	c.mustOK("GET", "/_fake/tokens", "", &list)
	if len(list) != 2 {
		t.Fatalf("tokens after deletes = %+v", list)
	}
	// Re-adding a name replaces the old token.
	c.mustOK("POST", "/_fake/tokens", `{"name": "alice-sample", "user": "alice"}`, &tk)
	c.mustOK("GET", "/_fake/tokens", "", &list)
	if len(list) != 2 {
		t.Fatalf("re-added token duplicated: %+v", list)
	}

	c.mustErr("POST", "/_fake/tokens", `{"user": "alice"}`, 400, "token needs a name")
	c.mustErr("POST", "/_fake/tokens", `{"name": "t2", "user": "nobody"}`, 400, `token "t2": user "nobody" does not exist`)
	c.mustErr("POST", "/_fake/tokens", `{"name": "t2", "user": "alice", "projects": ["nope"]}`, 400, `token "t2": project "nope" does not exist`)
	c.mustErr("POST", "/_fake/tokens", `{"name": "t2", "user": "alice", "scope": "all"}`, 400, `invalid JSON body: json: unknown field "scope"`)
}

func TestControlJWKSCache(t *testing.T) {
	c := startCtl(t)
	c.mintOK(c.ti.sign(t, githubClaims("jti-k1")))
	c.mintOK(c.ti.sign(t, githubClaims("jti-k2")))
	if n := c.ti.fetches.Load(); n != 1 {
		t.Fatalf("JWKS fetched %d times for two mints", n)
	}
	c.mustNoContent("DELETE", "/_fake/jwks-cache")
	c.mintOK(c.ti.sign(t, githubClaims("jti-k3")))
	if n := c.ti.fetches.Load(); n != 2 {
		t.Fatalf("JWKS fetched %d times, want a refetch after DELETE", n)
	}
	// After forgetting, a rotated key is picked up at once (no cooldown).
	other, _ := newOtherKey(t)
	c.ti.key, c.ti.kid = other, "rotated"
	c.mustNoContent("DELETE", "/_fake/jwks-cache")
	c.mintOK(c.ti.sign(t, githubClaims("jti-k4")))
	c.ti.key = sharedKey
}

// TestControlUnknownRoutes: unknown paths under /_fake/ are 404, and an
// unsupported method never reaches a handler.
func TestControlUnknownRoutes(t *testing.T) {
	c := startCtl(t)
	for _, r := range [][2]string{{"POST", "/_fake/config"}, {"PATCH", "/_fake/events"}, {"DELETE", "/_fake/flags"},
		{"PUT", "/_fake/issuers"}, {"DELETE", "/_fake/users"}, {"PUT", "/_fake/tokens"}, {"GET", "/_fake/jwks-cache"},
		{"GET", "/_fake/nope"}} {
		if code, _, _ := c.call(r[0], r[1], ""); code != 404 && code != 405 {
			t.Errorf("%s %s = %d, want 404 or 405", r[0], r[1], code)
		}
	}
	// GET /_fake/jwks-cache did not forget the keys.
	c.mintOK(c.ti.sign(t, githubClaims("jti-u1")))
	c.call("GET", "/_fake/jwks-cache", "")
	c.mintOK(c.ti.sign(t, githubClaims("jti-u2")))
	if n := c.ti.fetches.Load(); n != 1 {
		t.Fatalf("JWKS fetched %d times", n)
	}
}

// TestControlConfigRoundTrip: /_fake/config is "the live state, in the
// configuration file's shape", so loading it must give the same index:
// project-scoped tokens keep their scope and prohibited names stay.
func TestControlConfigRoundTrip(t *testing.T) {
	ti := newTestIssuer(t)
	s, _ := newTestServer(t, ti, testSetup+"prohibited_names: [Requirements.txt, pip-tools]\n")
	code, body, _ := do(t, s, "GET", "/_fake/config", "")
	if code != 200 {
		t.Fatalf("config: %d %s", code, body)
	}
	var f indexconfig.File
	if err := json.Unmarshal([]byte(body), &f); err != nil {
		t.Fatal(err)
	}
	scopes := map[string]string{}
	for _, tk := range f.Tokens {
		scopes[tk.Name] = strings.Join(tk.Projects, ",")
	}
	if len(scopes) != 2 || scopes["alice-all"] != "" || scopes["alice-sample"] != "sampleproject" {
		t.Fatalf("token scopes in the snapshot = %v", scopes)
	}
	if strings.Join(f.ProhibitedNames, ",") != "pip-tools,requirements-txt" {
		t.Fatalf("prohibited names in the snapshot = %v", f.ProhibitedNames)
	}
	again, err := New(Config{Setup: f, Clock: clock.NewFake(t0)})
	if err != nil {
		t.Fatalf("the snapshot does not load: %v", err)
	}
	tok, _ := again.Token("alice-sample")
	other, _ := again.Catalog.Project("other-project")
	wantErr(t, again.Tokens.Authorize(again.Tokens.Identify(tok), AuthProject(other)), 403,
		"Invalid API Token: project-scoped token is not valid for project: 'other-project'")
	if _, err := again.CreateProject("pip_tools", "alice", ""); err == nil {
		t.Fatalf("a prohibited name was lost in the round trip")
	}
}

// TestControlDeleteProjectDetachesPublishers: deleting a project deletes
// its publisher associations, as PyPI's cascade does; the publisher stays.
// A project later registered under the same name does not inherit it.
func TestControlDeleteProjectDetachesPublishers(t *testing.T) {
	c := startCtl(t)
	var list []publisher.Publisher
	c.mustOK("POST", "/_fake/publishers", `{"service": "google", "email": "ci@p.iam.gserviceaccount.com", "projects": ["sampleproject", "other-project"]}`, nil)
	c.mustNoContent("DELETE", "/_fake/projects/SampleProject")
	c.mustOK("GET", "/_fake/publishers", "", &list)
	if len(list) != 2 || len(list[0].Projects) != 0 || strings.Join(list[1].Projects, ",") != "other-project" {
		t.Fatalf("publishers after deleting the project = %+v", list)
	}
	var f indexconfig.File
	c.mustOK("GET", "/_fake/config", "", &f)
	if err := f.Validate(); err != nil {
		t.Fatalf("snapshot after deleting a project: %v", err)
	}
	// Re-registered by someone else: the old publisher's token has no
	// right to it.
	c.mustOK("POST", "/_fake/projects", `{"name": "sampleproject", "owners": ["bob"]}`, nil)
	tok := c.mintOK(c.ti.sign(t, githubClaims("jti-del1")))
	sample, _ := c.s.Catalog.Project("sampleproject")
	if err := c.s.Tokens.Authorize(c.s.Tokens.Identify(tok), AuthProject(sample)); err == nil {
		t.Fatalf("a publisher of the deleted project can upload to its namesake")
	}
}

// TestCreateProjectInvalidatesPendingPublishers: create_project deletes
// the pending publishers of other users whose project name
// ultranormalizes like the new project's (create_project in
// warehouse/packaging/services.py), whether the project comes from a pending publisher or an upload.
func TestCreateProjectInvalidatesPendingPublishers(t *testing.T) {
	c := startCtl(t)
	c.mustOK("POST", "/_fake/users", `{"name": "dana"}`, nil)
	add := func(repo, project, by string) string {
		var p publisher.Publisher
		c.mustOK("POST", "/_fake/pending-publishers", `{"service": "github", "owner": "octo-org", "repository": "`+repo+
			`", "workflow_filename": "release.yml", "project_name": "`+project+`", "added_by": "`+by+`"}`, &p)
		return p.ID
	}
	add("toasting", "toasting", "alice")
	add("r1", "toast1ng", "dana")  // ultranormalized alike: deleted
	add("r2", "Toast.Ing", "dana") // PEP 503 differs, ultranormalized alike: deleted
	add("r3", "toasting2", "dana") // another name: kept
	add("r4", "bobs-tool", "dana") // for the upload below
	cl := githubClaims("jti-ultra")
	cl["repository"] = "octo-org/toasting"
	cl["job_workflow_ref"] = "octo-org/toasting/.github/workflows/release.yml@refs/tags/v1.0"
	c.mintOK(c.ti.sign(t, cl))
	left := func() string {
		var list []publisher.Publisher
		c.mustOK("GET", "/_fake/pending-publishers", "", &list)
		var names []string
		for _, p := range list {
			names = append(names, p.ProjectName)
		}
		return strings.Join(names, ",")
	}
	if got := left(); got != "toasting2,bobs-tool" {
		t.Fatalf("pending publishers after creating toasting: %s", got)
	}
	// A token of the deleted one now finds no publisher at all.
	cl = githubClaims("jti-ultra2")
	cl["repository"] = "octo-org/r1"
	cl["job_workflow_ref"] = "octo-org/r1/.github/workflows/release.yml@refs/tags/v1.0"
	c.mintErr(c.ti.sign(t, cl), "invalid-publisher", "valid token, but no corresponding publisher (Publisher with matching claims was not found)")

	// A project created by an upload does the same.
	tok, _ := c.s.Token("alice-all")
	if code, status := c.upload(tok, "bobs_tool", "1.0"); code != 200 {
		t.Fatalf("upload: %s", status)
	}
	if got := left(); got != "toasting2" {
		t.Fatalf("pending publishers after an upload created bobs_tool: %s", got)
	}
}

// TestControlStrictBodies: a body is one JSON value. Several objects
// (say, NDJSON of publishers) are refused as a whole rather than the
// first one applied and the rest silently dropped; an empty body says so.
func TestControlStrictBodies(t *testing.T) {
	c := startCtl(t)
	two := `{"service": "google", "email": "a@b.c", "projects": ["sampleproject"]}
{"service": "google", "email": "d@e.f", "projects": ["sampleproject"]}`
	c.mustErr("POST", "/_fake/publishers", two, 400, "invalid JSON body: unexpected data after the JSON value")
	c.mustErr("PUT", "/_fake/flags", `{"read-only": true} x`, 400, "invalid JSON body: unexpected data after the JSON value")
	c.mustErr("POST", "/_fake/users", ``, 400, "invalid JSON body: the body is empty")
	var list []publisher.Publisher
	c.mustOK("GET", "/_fake/publishers", "", &list)
	var flags map[string]bool
	c.mustOK("GET", "/_fake/flags", "", &flags)
	if len(list) != 1 || flags["read-only"] {
		t.Fatalf("a refused body changed the state: %d publishers, read-only %v", len(list), flags["read-only"])
	}
	// Trailing whitespace is fine.
	c.mustOK("PUT", "/_fake/flags", "{\"read-only\": true}\n\n", &flags)
	if !flags["read-only"] {
		t.Fatal("flag not set")
	}
}

// TestControlIssuerChangeDropsKeys: pointing an issuer at another
// discovery URL (a restarted fakeissuer with new keys) takes effect at
// once; the previous source's keys are not kept, and no 60 s cooldown
// applies to the new source.
func TestControlIssuerChangeDropsKeys(t *testing.T) {
	c := startCtl(t)
	c.mintOK(c.ti.sign(t, githubClaims("jti-ic1")))
	ti2 := newTestIssuer(t)
	other, _ := newOtherKey(t)
	ti2.key, ti2.kid = other, "kid-2"
	c.mustOK("POST", "/_fake/issuers", `{"url": "`+oidc.GitHubIssuer+`", "service": "github", "discovery": "`+ti2.srv.URL+`"}`, nil)
	c.mintOK(ti2.sign(t, githubClaims("jti-ic2")))
	// The old source's keys are gone with it.
	c.mintErr(c.ti.sign(t, githubClaims("jti-ic3")), "invalid-token", "malformed or invalid token")
}

// TestControlUnknownPathsAndMethods: a mistyped control-plane path or a
// wrong method answers in the control plane's JSON (405 with Allow for a
// path that exists), not Go's plain-text 404; PyPI's own paths keep
// their answers.
func TestControlUnknownPathsAndMethods(t *testing.T) {
	c := startCtl(t)
	c.mustErr("GET", "/_fake/publisher", "", http.StatusNotFound,
		`no control-plane endpoint /_fake/publisher (docs/fakeindex.md, "Control plane", lists them)`)
	for _, tc := range []struct{ method, path, allow string }{
		{"POST", "/_fake/health", "GET"},
		{"DELETE", "/_fake/clock", "GET, POST"},
		{"GET", "/_fake/projects/demo/files/demo-1.0.tar.gz", "DELETE"},
		{"PUT", "/_fake/events/3", "GET, HEAD"},
		{"POST", "/_fake/events", "GET, DELETE"},
	} {
		c.mustErr(tc.method, tc.path, "", http.StatusMethodNotAllowed,
			fmt.Sprintf("%s is not allowed on %s (allowed: %s)", tc.method, tc.path, tc.allow))
		if _, _, h := c.call(tc.method, tc.path, ""); h.Get("Allow") != tc.allow {
			t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, h.Get("Allow"), tc.allow)
		}
	}
	// Outside /_fake/ nothing changed: Go's 404 for a path PyPI would
	// answer with its own page (not emulated), and the control plane's
	// routes still answer.
	if code, body, _ := c.call("GET", "/no/such/page/", ""); code != http.StatusNotFound || strings.Contains(body, "control-plane") {
		t.Errorf("GET /no/such/page/: %d %q", code, body)
	}
	c.mustOK("GET", "/_fake/health", "", nil)
}
