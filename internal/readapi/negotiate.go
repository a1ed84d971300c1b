package readapi

import (
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/fakepypi/fakepypi/internal/lazyregexp"
)

// Media types of the simple API (PEP 691) and the integrity API (PEP 740).
const (
	MIMETextHTML        = "text/html"
	MIMESimpleV1HTML    = "application/vnd.pypi.simple.v1+html"
	MIMESimpleV1JSON    = "application/vnd.pypi.simple.v1+json"
	MIMEIntegrityV1     = "application/vnd.pypi.integrity.v1+json"
	MIMEApplicationJSON = "application/json"
)

// simpleOffers is the order warehouse/api/simple.py passes to
// request.accept.acceptable_offers; the order breaks q-value ties.
var simpleOffers = []string{MIMETextHTML, MIMESimpleV1HTML, MIMESimpleV1JSON}

// integrityOffers is warehouse/api/integrity.py's order.
var integrityOffers = []string{MIMEIntegrityV1, MIMEApplicationJSON}

// acceptableOffers reproduces WebOb 1.8's Accept.acceptable_offers, which is
// what Warehouse negotiates with:
//   - no Accept header, or one that does not parse: every offer, in order;
//   - otherwise each offer takes the q of the most specific range matching
//     it (exact type > type/* > */*; RFC 7231, section 5.3.2), offers with q=0 or
//     no matching range drop out, and the rest are sorted by q descending,
//     ties kept in offer order.
//
// A range carrying media-type parameters (text/html;level=1) only matches an
// offer with the same parameters, and Warehouse's offers have none.
func acceptableOffers(r *http.Request, offers []string) []string {
	values, present := r.Header["Accept"]
	if !present {
		return offers
	}
	ranges, ok := parseAccept(strings.Join(values, ","))
	if !ok {
		return offers
	}
	type scored struct {
		offer string
		q     float64
		idx   int
	}
	var out []scored
	for i, offer := range offers {
		typ, sub, _ := strings.Cut(offer, "/")
		best, q := 0, 0.0
		for _, rg := range ranges {
			spec := 0
			switch {
			case rg.typ == typ && rg.sub == sub:
				if rg.params != "" {
					continue
				}
				spec = 3
			case rg.typ == typ && rg.sub == "*":
				spec = 2
			case rg.typ == "*" && rg.sub == "*":
				spec = 1
			default:
				continue
			}
			if spec > best {
				best, q = spec, rg.q
			}
		}
		if best > 0 && q > 0 {
			out = append(out, scored{offer, q, i})
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].q > out[b].q })
	res := make([]string, len(out))
	for i, s := range out {
		res[i] = s.offer
	}
	return res
}

type mediaRange struct {
	typ, sub string
	params   string // media-type parameters other than q, lowercased names
	q        float64
}

var (
	tokenRE = lazyregexp.New("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
	qRE     = lazyregexp.New(`^(0(\.[0-9]{0,3})?|1(\.0{0,3})?)$`)
)

// parseAccept parses an Accept value; ok is false when WebOb would treat the
// header as invalid (and so offer everything).
func parseAccept(h string) (ranges []mediaRange, ok bool) {
	for _, part := range strings.Split(h, ",") {
		part = strings.Trim(part, " \t")
		if part == "" {
			continue // empty list elements are allowed (RFC 7230 #rule)
		}
		fields := strings.Split(part, ";")
		typ, sub, found := strings.Cut(strings.Trim(fields[0], " \t"), "/")
		if !found || !tokenRE().MatchString(typ) || !tokenRE().MatchString(sub) || (typ == "*" && sub != "*") {
			return nil, false
		}
		rg := mediaRange{typ: strings.ToLower(typ), sub: strings.ToLower(sub), q: 1}
		var params []string
		for _, p := range fields[1:] {
			name, val, found := strings.Cut(strings.Trim(p, " \t"), "=")
			if !found || !tokenRE().MatchString(name) {
				return nil, false
			}
			if strings.EqualFold(name, "q") {
				if !qRE().MatchString(val) {
					return nil, false
				}
				rg.q, _ = strconv.ParseFloat(val, 64)
				break // what follows q= are extension parameters
			}
			params = append(params, strings.ToLower(name)+"="+val)
		}
		rg.params = strings.Join(params, ";")
		ranges = append(ranges, rg)
	}
	return ranges, true
}
