package upload

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/fakepypi/fakepypi/internal/adminflag"
	"github.com/fakepypi/fakepypi/internal/apitoken"
	"github.com/fakepypi/fakepypi/internal/attestation"
	"github.com/fakepypi/fakepypi/internal/catalog"
	"github.com/fakepypi/fakepypi/internal/events"
	"github.com/fakepypi/fakepypi/internal/forklift"
	"github.com/fakepypi/fakepypi/internal/pypierr"
	"github.com/fakepypi/fakepypi/internal/pypihdr"
)

// Attestation messages (warehouse/attestations/services.py
// _extract_attestations_from_request and IntegrityService.parse_attestations;
// warehouse/forklift/legacy.py prefixes every one).
const (
	msgAttestPrefix    = "Invalid attestations supplied during upload: "
	msgAttestOnlyTP    = msgAttestPrefix + "Attestations are only supported when using Trusted Publishing"
	msgAttestNoSupport = msgAttestPrefix + "Attestations are not currently supported with %s publishers"
	msgAttestEmpty     = msgAttestPrefix + "Malformed attestations: an empty attestation set is not permitted"
	msgAttestTooMany   = msgAttestPrefix + "A maximum of 2 attestations per file are supported"
	msgAttestMalformed = msgAttestPrefix + "Malformed attestations: "
	msgAttestVerify    = msgAttestPrefix + "Could not verify the uploaded artifact using the included attestation: "
	msgAttestUnknown   = msgAttestPrefix + "Unknown error while trying to verify included attestations: "
	msgAttestDupType   = msgAttestPrefix + "Multiple attestations for the same file with the same predicate type (%s) are not supported"
)

// checkAttestations is step 30: IntegrityService.parse_attestations, run
// only when the form has "attestations" and disable-pep740 is off
// (legacy.py). It returns the provenance object to store with the file
// (build_provenance), or nil when there are no attestations.
func (h *Handler) checkAttestations(id apitoken.Identity, b *body, sha256hex string) ([]byte, *outcome) {
	vs, ok := b.fields["attestations"]
	if !ok || h.o.Flags.Enabled(adminflag.DisablePEP740) {
		return nil, nil
	}
	const step = "30 attestations"
	if id.Kind != apitoken.KindPublisher {
		return nil, fail(step, http.StatusBadRequest, msgAttestOnlyTP)
	}
	var pub attestation.Publisher
	name, has := "", false
	if h.o.PublisherIdentity != nil {
		pub, name, has = h.o.PublisherIdentity(id.PublisherID)
	}
	if !has {
		return nil, fail(step, http.StatusBadRequest, fmt.Sprintf(msgAttestNoSupport, name))
	}
	// request.POST["attestations"] is WebOb's last value.
	list, err := attestation.ParseList(vs[len(vs)-1])
	if err != nil {
		out := fail(step, http.StatusBadRequest, msgAttestMalformed+err.Error())
		out.why = "the attestations field is not a JSON list of PEP 740 attestation objects"
		return nil, out
	}
	if len(list) == 0 {
		return nil, fail(step, http.StatusBadRequest, msgAttestEmpty)
	}
	if len(list) > 2 {
		return nil, fail(step, http.StatusBadRequest, msgAttestTooMany)
	}
	root := &attestation.TrustedRoot{}
	if h.o.TrustedRoot != nil {
		if r := h.o.TrustedRoot(); r != nil {
			root = r
		}
	}
	dist := attestation.Distribution{Name: b.filename, SHA256: sha256hex}
	seen := map[string]bool{}
	for i := range list {
		pt, err := attestation.Verify(&list[i], pub, dist, root)
		if err != nil {
			var ae *attestation.Error
			msg := msgAttestUnknown + err.Error()
			if errors.As(err, &ae) && ae.Verification {
				msg = msgAttestVerify + err.Error()
			}
			out := fail(step, http.StatusBadRequest, msg)
			out.why = fmt.Sprintf("attestation %d of %d does not verify for %s %s against the harness's Sigstore trusted root", i+1, len(list), pub.Kind, publisherName(pub))
			return nil, out
		}
		if seen[pt] {
			return nil, fail(step, http.StatusBadRequest, fmt.Sprintf(msgAttestDupType, pt))
		}
		seen[pt] = true
	}
	prov, err := attestation.BuildProvenance(pub, list)
	if err != nil {
		return nil, &outcome{status: http.StatusInternalServerError, message: "Internal Server Error", why: err.Error(), step: step}
	}
	return prov, nil
}

func publisherName(p attestation.Publisher) string {
	if p.Kind == "Google" {
		return p.Email
	}
	return p.Repository + " " + p.Workflow
}

// catalogMetadata converts the normalized release fields for the catalog.
func catalogMetadata(r *forklift.Release) catalog.Metadata {
	s := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	m := catalog.Metadata{
		MetadataVersion: r.MetadataVersion, Summary: s(r.Summary), Description: s(r.Description),
		DescriptionContentType: s(r.DescriptionContentType), Author: s(r.Author), AuthorEmail: s(r.AuthorEmail),
		Maintainer: s(r.Maintainer), MaintainerEmail: s(r.MaintainerEmail), License: s(r.License),
		LicenseExpression: s(r.LicenseExpression), LicenseFiles: r.LicenseFiles, Keywords: s(r.Keywords),
		Classifiers: r.Classifiers, Platform: s(r.Platform), HomePage: s(r.HomePage), DownloadURL: s(r.DownloadURL),
		RequiresPython: s(r.RequiresPython), RequiresDist: r.RequiresDist, ProvidesExtra: r.ProvidesExtra,
		Dynamic: r.Dynamic,
	}
	for _, u := range r.ProjectURLs {
		m.ProjectURLs = append(m.ProjectURLs, catalog.ProjectURL{Label: u.Label, URL: u.URL})
	}
	return m
}

// clientIP is the rate-limit key for the client address.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// allowCreate tests the project-creation limiters (a moving one-hour
// window per user and per IP).
func (h *Handler) allowCreate(user, ip string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.o.Clock.Now()
	return h.recent("user:"+user, now) < userCreatesPerHour && h.recent("ip:"+ip, now) < ipCreatesPerHour
}

func (h *Handler) hitCreate(user, ip string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.o.Clock.Now()
	for _, k := range []string{"user:" + user, "ip:" + ip} {
		h.creates[k] = append(h.creates[k], now)
	}
}

// recent counts key's creations in the last hour, forgetting older ones.
// An entry exactly an hour old still counts, as in the limits library's
// moving window (its Redis script keeps entries >= now - expiry).
func (h *Handler) recent(key string, now time.Time) int {
	ts := h.creates[key]
	i := 0
	for i < len(ts) && ts[i].Before(now.Add(-time.Hour)) {
		i++
	}
	h.creates[key] = ts[i:]
	return len(ts) - i
}

// rateLimitHeaders are the headers of warehouse/rate_limiting/headers.py
// for the two project-creation limiters, as ProjectService
// ._check_ratelimits records them (warehouse/packaging/services.py): the
// IP's first, then the user's, each with its limit (q), window (w),
// partition (pk), what remains (r) and the seconds until the window
// resets (t). The limiters are the limits library's moving windows
// (limits 5.8.0): r is the limit less the hits of the last hour, and the
// window resets an hour after its oldest hit (an hour from now when there
// is none). The state is read before this request's hit; the tween adds
// the headers to whatever the request answers.
func (h *Handler) rateLimitHeaders(user, ip string) http.Header {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.o.Clock.Now()
	var policy, state []string
	for _, l := range []struct {
		name, key, pk string
		limit         int
	}{
		{"project.create.ip", "ip:" + ip, "ip", ipCreatesPerHour},
		{"project.create.user", "user:" + user, "user", userCreatesPerHour},
	} {
		n := h.recent(l.key, now)
		reset := time.Hour
		if n > 0 {
			reset = h.creates[l.key][0].Add(time.Hour).Sub(now)
		}
		policy = append(policy, fmt.Sprintf(`"%s";q=%d;w=3600;pk=:%s:`, l.name, l.limit, l.pk))
		state = append(state, fmt.Sprintf(`"%s";r=%d;t=%d`, l.name, l.limit-n, max(0, int64(reset/time.Second))))
	}
	hd := http.Header{}
	pypihdr.Set(hd, pypihdr.RateLimitPolicy, strings.Join(policy, ", "))
	pypihdr.Set(hd, pypihdr.RateLimit, strings.Join(state, ", "))
	return hd
}

// eventDetails is what /_fake/events shows about one upload.
type eventDetails struct {
	Step        string              `json:"step,omitempty"`
	Identity    string              `json:"identity"`
	User        string              `json:"user,omitempty"`
	Publisher   string              `json:"publisher_id,omitempty"`
	Token       string              `json:"token,omitempty"`
	TokenID     string              `json:"token_id,omitempty"`
	Filename    string              `json:"filename,omitempty"`
	ContentType string              `json:"content_type,omitempty"`
	Size        int64               `json:"size"`
	SHA256      string              `json:"sha256,omitempty"`
	Blake2256   string              `json:"blake2_256,omitempty"`
	Fields      map[string][]string `json:"fields"`
}

// What an upload event keeps of the form: each value cut to
// maxEventValue bytes, each name to maxEventName, and at most
// maxEventFormBytes in all, so that a body of a million fields (or one
// huge one) costs the event log a few KiB, not the body's size.
const (
	maxEventValue     = 256
	maxEventName      = 64
	maxEventFormBytes = 4 << 10
	// omittedKey names the count of values left out; it cannot be a form
	// field name here (names are cut to maxEventName bytes with "…").
	omittedKey = "…"
)

// eventFields copies the form's fields, in arrival order, within the
// bounds above; what is left out is counted under omittedKey.
func eventFields(b *body) map[string][]string {
	out := map[string][]string{}
	budget, omitted := maxEventFormBytes, 0
	for _, k := range b.order {
		vs := b.fields[k]
		name := events.Excerpt(k, maxEventName)
		for i, v := range vs {
			v = events.Excerpt(v, maxEventValue)
			cost := len(v) + 4 // quotes and a comma in the JSON form
			if i == 0 {
				cost += len(name) + 6
			}
			if cost > budget {
				omitted += len(vs) - i
				break
			}
			budget -= cost
			out[name] = append(out[name], v)
		}
	}
	if omitted > 0 {
		out[omittedKey] = []string{strconv.Itoa(omitted) + " more values not kept in the event log"}
	}
	return out
}

// finish answers the client and records the event.
func (h *Handler) finish(w http.ResponseWriter, r *http.Request, id apitoken.Identity, b *body, out *outcome) {
	if h.o.Events != nil {
		d := eventDetails{Step: out.step, Identity: id.Kind, Publisher: id.PublisherID, Token: id.TokenName,
			TokenID: id.TokenID, Fields: map[string][]string{}}
		if d.Identity == "" {
			d.Identity = "none"
		}
		if id.User != nil {
			d.User = id.User.Name
		}
		if b != nil {
			d.Filename, d.ContentType, d.Size = b.filename, b.contentType, b.size
			if b.spooled {
				dg := b.spool.Digests()
				d.SHA256, d.Blake2256 = dg.SHA256, dg.Blake2256
			}
			d.Fields = eventFields(b)
		}
		verdict := "ok"
		if out.status != http.StatusOK {
			verdict = "error"
		}
		msg := out.message
		if msg == "" {
			msg = "OK"
		}
		h.o.Events.Add(events.Event{Kind: events.KindUpload, Time: h.o.Clock.Now(), Verdict: verdict, Status: out.status,
			Message: msg, Why: out.why, Details: d})
	}
	detail := out.message
	if out.statusOnly {
		detail = ""
	}
	pypierr.WriteStatusDetail(w, r, out.status, out.message, detail, out.header)
}
