package forklift

import (
	_ "embed"
	"strings"
	"sync"
	"unicode"

	"github.com/fakepypi/fakepypi/internal/forklift/spdx"
	"github.com/fakepypi/fakepypi/internal/lazyregexp"
)

//go:embed data/trove-classifiers.txt
var classifiersData string

//go:embed data/trove-classifiers-deprecated.tsv
var deprecatedData string

// validClassifiers is trove_classifiers.sorted_classifiers. It and
// deprecatedClassifiers are built at the first upload that has a
// Classifier, not at init (about 100 KB a server without one never needs).
var validClassifiers = sync.OnceValue(func() map[string]bool {
	m := map[string]bool{}
	for _, l := range strings.Split(classifiersData, "\n") {
		if l = strings.TrimRight(l, "\r"); l != "" {
			m[l] = true
		}
	}
	return m
})

// deprecatedClassifiers is trove_classifiers.deprecated_classifiers: each
// deprecated classifier and its replacements (possibly none).
var deprecatedClassifiers = sync.OnceValue(func() map[string][]string {
	m := map[string][]string{}
	for _, l := range strings.Split(deprecatedData, "\n") {
		l = strings.TrimRight(l, "\r")
		if l == "" {
			continue
		}
		c, repl, _ := strings.Cut(l, "\t")
		var by []string
		if repl != "" {
			by = strings.Split(repl, ",")
		}
		m[c] = by
	}
	return m
})

// IsValidClassifier reports whether c is a known, non-deprecated
// classifier.
func IsValidClassifier(c string) bool { return validClassifiers()[c] }

func isUnicodeLetter(r rune) bool { return unicode.IsLetter(r) || unicode.Is(unicode.Nl, r) }

func isUnicodeDigitOrMark(r rune) bool {
	return unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r) ||
		unicode.Is(unicode.Nd, r) || unicode.Is(unicode.Pc, r)
}

// URI character classes of RFC 3986 as the rfc3986 package (used by
// warehouse.utils.http.is_valid_uri) checks them component by component.
var (
	uriSchemeRe   = lazyregexp.New(`^[A-Za-z][A-Za-z0-9+.-]*$`)
	uriPCharRe    = `(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})`
	uriPathRe     = lazyregexp.New(`^(?:` + uriPCharRe + `|/)*$`)
	uriQueryRe    = lazyregexp.New(`^(?:` + uriPCharRe + `|[/?])*$`)
	uriRegNameRe  = lazyregexp.New(`^(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*$`)
	uriIPv6Re     = lazyregexp.New(`^\[[0-9A-Fa-f:.]+\]$`)
	uriUserInfoRe = lazyregexp.New(`^(?:[A-Za-z0-9\-._~!$&'()*+,;=:]|%[0-9A-Fa-f]{2})*$`)
)

// IsValidURI is warehouse.utils.http.is_valid_uri(url,
// require_authority=False): an http or https scheme is required, and the
// host, port, path, query and fragment must be valid RFC 3986 components.
func IsValidURI(s string) bool {
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok || !uriSchemeRe().MatchString(scheme) {
		return false
	}
	if sl := strings.ToLower(scheme); sl != "http" && sl != "https" {
		return false
	}
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		if !uriQueryRe().MatchString(rest[i+1:]) {
			return false
		}
		rest = rest[:i]
	}
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		if !uriQueryRe().MatchString(rest[i+1:]) {
			return false
		}
		rest = rest[:i]
	}
	path := rest
	if strings.HasPrefix(rest, "//") {
		auth := rest[2:]
		path = ""
		if i := strings.IndexByte(auth, '/'); i >= 0 {
			auth, path = auth[:i], auth[i:]
		}
		if i := strings.LastIndexByte(auth, '@'); i >= 0 {
			if !uriUserInfoRe().MatchString(auth[:i]) {
				return false
			}
			auth = auth[i+1:]
		}
		host, port := auth, ""
		if strings.HasPrefix(auth, "[") {
			end := strings.IndexByte(auth, ']')
			if end < 0 {
				return false
			}
			host, port = auth[:end+1], strings.TrimPrefix(auth[end+1:], ":")
			if !uriIPv6Re().MatchString(host) {
				return false
			}
		} else {
			if i := strings.LastIndexByte(auth, ':'); i >= 0 {
				host, port = auth[:i], auth[i+1:]
			}
			if !uriRegNameRe().MatchString(host) {
				return false
			}
		}
		for _, c := range port {
			if c < '0' || c > '9' {
				return false
			}
		}
		if len(port) > 0 && len(strings.TrimLeft(port, "0")) > 5 {
			return false
		}
	}
	return uriPathRe().MatchString(path)
}

// parseAddr approximates email.utils.parseaddr (strict mode, Python 3.11.10
// and later): the address of "Name <addr>" or a bare "addr"; "" when the
// value holds several addresses or cannot be parsed, in which case
// Warehouse skips validation.
func parseAddr(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	// Several comma-separated addresses (outside quotes and angle brackets).
	inQuote, depth := false, 0
	for _, r := range s {
		switch {
		case r == '"':
			inQuote = !inQuote
		case r == '<' && !inQuote:
			depth++
		case r == '>' && !inQuote:
			depth--
		case r == ',' && !inQuote && depth == 0:
			return ""
		}
	}
	if i := strings.LastIndexByte(s, '<'); i >= 0 {
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			return ""
		}
		return strings.TrimSpace(s[i+1 : i+j])
	}
	return s
}

// emailAtext are the characters email_validator allows unquoted in a local
// part (RFC 5322 atext plus '.').
func emailAtext(r rune) bool {
	if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
		return true
	}
	if r > 127 {
		return unicode.IsPrint(r) // internationalized local parts are allowed
	}
	return strings.ContainsRune("!#$%&'*+-/=?^_`{|}~.", r)
}

// specialUseDomains are email_validator's SPECIAL_USE_DOMAIN_NAMES.
var specialUseDomains = []string{"arpa", "invalid", "local", "localhost", "onion", "test"}

// validateEmail approximates email_validator.validate_email(addr,
// check_deliverability=False), returning its error text or "". It covers
// the common failures; rare syntax (quoted local parts, IP literals) is
// accepted.
func validateEmail(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return "An email address must have an @-sign."
	}
	local, domain := addr[:at], addr[at+1:]
	if local == "" {
		return "There must be something before the @-sign."
	}
	if domain == "" {
		return "There must be something after the @-sign."
	}
	if !(strings.HasPrefix(local, `"`) && strings.HasSuffix(local, `"`)) {
		if bad := invalidChars(local, emailAtext); len(bad) > 0 {
			return "The email address contains invalid characters before the @-sign: " + strings.Join(bad, ", ") + "."
		}
		switch {
		case strings.HasPrefix(local, "."):
			return "An email address cannot start with a period."
		case strings.HasSuffix(local, "."):
			return "An email address cannot have a period immediately before the @-sign."
		case strings.Contains(local, ".."):
			return "An email address cannot have two periods in a row."
		}
	}
	if strings.HasPrefix(domain, "[") {
		return ""
	}
	domainChar := func(r rune) bool {
		return r == '-' || r == '.' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r > 127 && unicode.IsLetter(r)
	}
	if bad := invalidChars(domain, domainChar); len(bad) > 0 {
		return "The part after the @-sign contains invalid characters: " + strings.Join(bad, ", ") + "."
	}
	switch {
	case strings.HasPrefix(domain, "."):
		return "An email address cannot have a period immediately after the @-sign."
	case strings.HasSuffix(domain, "."):
		return "An email address cannot end with a period."
	case strings.Contains(domain, ".."):
		return "An email address cannot have two periods in a row."
	}
	for _, label := range strings.Split(domain, ".") {
		if strings.HasPrefix(label, "-") {
			return "An email address cannot have a hyphen immediately after the @-sign or a period."
		}
		if strings.HasSuffix(label, "-") {
			return "An email address cannot end with a hyphen or have a hyphen immediately before a period."
		}
	}
	if !strings.Contains(domain, ".") {
		return "The part after the @-sign is not valid. It should have a period."
	}
	lower := strings.ToLower(domain)
	for _, d := range specialUseDomains {
		if lower == d || strings.HasSuffix(lower, "."+d) {
			return "The part after the @-sign is a special-use or reserved name that cannot be used with email."
		}
	}
	tld := lower[strings.LastIndexByte(lower, '.')+1:]
	if strings.Trim(tld, "0123456789") == "" {
		return "The part after the @-sign is not valid. It is not within a valid top-level domain."
	}
	return ""
}

// canonicalizeLicenseExpression is packaging 26.2's
// canonicalize_license_expression (packaging/licenses/__init__.py), which
// packaging.metadata's _process_license_expression runs on the
// license_expression field: false for any expression it refuses, whatever
// the reason (PyPI reports them all as "'<v>' is invalid for
// 'license-expression'"). The inputs that crash packaging instead
// (spdx.Error.Crash: a "+"-suffixed LicenseRef-, or 200 nested parentheses)
// are refused the same way here rather than answered with PyPI's 500.
func canonicalizeLicenseExpression(expr string) (string, bool) {
	s, err := spdx.Canonicalize(expr)
	return s, err == nil
}

// invalidChars lists, once each and in order of appearance, the characters
// of s that ok rejects, as email-validator names them in its messages.
func invalidChars(s string, ok func(rune) bool) []string {
	var bad []string
	seen := map[rune]bool{}
	for _, r := range s {
		if !ok(r) && !seen[r] {
			seen[r] = true
			bad = append(bad, string(r))
		}
	}
	return bad
}
