package pep440

import (
	"errors"
	"sort"
	"strings"

	"github.com/fakepypi/fakepypi/internal/lazyregexp"
)

// ErrInvalidSpecifier is returned for strings that packaging rejects with
// InvalidSpecifier.
var ErrInvalidSpecifier = errors.New("invalid specifier")

// Shared fragments of packaging's Specifier._version_regex_str.
const (
	specPre  = `(?:[-_.]?(?:alpha|beta|preview|pre|a|b|c|rc)[-_.]?[0-9]*)?`
	specPost = `(?:(?:-[0-9]+)|(?:[-_.]?(?:post|rev|r)[-_.]?[0-9]*))?`
	specDev  = `(?:[-_.]?dev[-_.]?[0-9]*)?`
	specHead = `\s*v?(?:[0-9]+!)?`
)

// The version part of a specifier, per operator family (packaging
// specifiers.py). Go's regexp has no lookbehind, so the operator decides
// which of the three alternatives applies.
var (
	// ==, != : wildcard suffix, or pre/post/dev plus an optional local label.
	specEqVersion = `(?i:` + specHead + `[0-9]+(?:\.[0-9]+)*` +
		`(?:\.\*|` + specPre + specPost + specDev + `(?:\+[a-z0-9]+(?:[-_.][a-z0-9]+)*)?)?)`
	// ~= : at least two release components, no wildcard, no local.
	specCompatVersion = `(?i:` + specHead + `[0-9]+(?:\.[0-9]+)+` + specPre + specPost + specDev + `)`
	// <=, >=, <, > : no wildcard, no local.
	specOtherVersion = `(?i:` + specHead + `[0-9]+(?:\.[0-9]+)*` + specPre + specPost + specDev + `)`
	// === : arbitrary string up to whitespace, ';' or ')'.
	specArbitraryVersion = `\s*[^\s;)]*`
)

// specifierRe and SpecifierPrefixRe are compiled at first use, not at
// init: only Requires-Python and Requires-Dist need them, and together they
// are most of this package's 190 KB of init-time allocation.
var specifierRe = lazyregexp.New(`^\s*(?:` +
	`(===)` + specArbitraryVersion +
	`|(==|!=)` + specEqVersion +
	`|(~=)` + specCompatVersion +
	`|(<=|>=|<|>)` + specOtherVersion +
	`)\s*$`)

// SpecifierPrefixRe matches, at the start of its input, the longest
// specifier (operator plus version) the way packaging's tokenizer rule
// SPECIFIER does inside PEP 508 requirements. Exported for pep508.
var SpecifierPrefixRe = lazyregexp.New(`^(?:` +
	`===` + specArbitraryVersion +
	`|(?:==|!=)` + specEqVersion +
	`|~=` + specCompatVersion +
	`|(?:<=|>=|<|>)` + specOtherVersion +
	`)`)

// Specifier is one PEP 440 version clause such as ">=3.8".
type Specifier struct {
	Operator string
	Version  string // as written, whitespace-trimmed (packaging keeps it so)
}

// ParseSpecifier parses one clause as packaging.specifiers.Specifier does.
func ParseSpecifier(s string) (Specifier, error) {
	s = PyStrip(s)
	if !specifierRe().MatchString(s) {
		return Specifier{}, ErrInvalidSpecifier
	}
	op := s[:opLen(s)]
	return Specifier{Operator: op, Version: PyStrip(s[len(op):])}, nil
}

func opLen(s string) int {
	for _, op := range []string{"===", "==", "!=", "~=", "<=", ">=", "<", ">"} {
		if strings.HasPrefix(s, op) {
			return len(op)
		}
	}
	return 0
}

// String is str(Specifier): operator immediately followed by the version
// text as written ("1.0", never re-normalized).
func (s Specifier) String() string { return s.Operator + s.Version }

// canonical is Specifier._canonical_spec, which drives equality (and so
// deduplication in a SpecifierSet): the operator and the canonicalized
// version, trailing zeros kept for "~=", and a wildcard version
// canonicalized without its ".*".
func (s Specifier) canonical() string {
	if s.Operator == "===" {
		return s.Operator + "\x00" + s.Version
	}
	v := s.Version
	if strings.HasSuffix(v, ".*") {
		return s.Operator + "\x00" + CanonicalizeVersionKeepZeros(strings.TrimSuffix(v, ".*"), false) + ".*"
	}
	return s.Operator + "\x00" + CanonicalizeVersionKeepZeros(v, s.Operator != "~=")
}

// CanonicalizeVersionKeepZeros is canonicalize_version(v,
// strip_trailing_zero=strip).
func CanonicalizeVersionKeepZeros(s string, strip bool) string {
	v, err := Parse(s)
	if err != nil {
		return s
	}
	if strip {
		return v.Canonical()
	}
	return v.String()
}

// SpecifierSet is packaging.specifiers.SpecifierSet: a deduplicated set of
// clauses.
type SpecifierSet struct {
	Specs []Specifier // deduplicated, in first-seen order
}

// ParseSpecifierSet parses a comma-separated list. Empty items are ignored
// (so "" is the empty set); any invalid clause fails the whole set.
func ParseSpecifierSet(s string) (SpecifierSet, error) {
	var set SpecifierSet
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		if PyStrip(part) == "" {
			continue
		}
		sp, err := ParseSpecifier(part)
		if err != nil {
			return SpecifierSet{}, err
		}
		// frozenset construction keeps the first of equal specifiers.
		if k := sp.canonical(); !seen[k] {
			seen[k] = true
			set.Specs = append(set.Specs, sp)
		}
	}
	return set, nil
}

// String is str(SpecifierSet): the clauses' strings sorted and joined by
// "," with no spaces, e.g. ">= 3.8, < 4" -> "<4,>=3.8". Warehouse stores
// requires_python in this form.
func (s SpecifierSet) String() string {
	parts := make([]string, len(s.Specs))
	for i, sp := range s.Specs {
		parts[i] = sp.String()
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// Len is the number of distinct clauses.
func (s SpecifierSet) Len() int { return len(s.Specs) }
