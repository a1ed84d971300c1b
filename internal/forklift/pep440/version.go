// Package pep440 implements the parts of PEP 440 that PyPI's upload path
// depends on, with the behaviour of packaging 26.2 (the version Warehouse
// pins): parsing, normalization (str(Version(v))), canonicalize_version,
// ordering, and specifier sets with packaging's string form.
//
// It is written here rather than built on github.com/aquasecurity/go-pep440-version
// because that library stores numeric segments as uint64 (packaging uses
// unbounded Python ints, so "1.99999999999999999999" is a valid version on
// PyPI), has no canonicalize_version, and renders specifier sets in input
// order instead of packaging's deduplicated, sorted form, which Warehouse
// stores as requires_python. Fidelity of those strings is the point.
package pep440

import (
	"errors"
	"regexp"
	"strings"
	"unicode"
)

// ErrInvalidVersion is returned by Parse for strings that are not PEP 440
// versions (packaging raises InvalidVersion).
var ErrInvalidVersion = errors.New("invalid version")

// Version is a parsed PEP 440 version. Numeric fields hold decimal digit
// strings without leading zeros, so any size is supported.
type Version struct {
	Epoch   string   // "0" when absent
	Release []string // at least one component
	PreL    string   // "a", "b", "rc" or "" when there is no pre-release
	PreN    string
	HasPost bool
	PostN   string
	HasDev  bool
	DevN    string
	Local   []string // lowercased; numeric parts without leading zeros
}

// versionRe is packaging's VERSION_PATTERN (version.py), matched with
// re.VERBOSE | re.IGNORECASE after surrounding whitespace is trimmed.
var versionRe = regexp.MustCompile(`(?i)^v?` +
	`(?:([0-9]+)!)?` + // epoch
	`([0-9]+(?:\.[0-9]+)*)` + // release
	`(?:[-_.]?(alpha|a|beta|b|preview|pre|c|rc)[-_.]?([0-9]+)?)?` + // pre
	`(?:(?:-([0-9]+))|(?:[-_.]?(post|rev|r)[-_.]?([0-9]+)?))?` + // post
	`(?:[-_.]?(dev)[-_.]?([0-9]+)?)?` + // dev
	`(?:\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?$`) // local

// IsPySpace reports whether r is whitespace for Python's str.strip() and
// the regex \s of a str pattern. Go's unicode.IsSpace misses U+001C..U+001F,
// which Python counts as whitespace.
func IsPySpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

// PyStrip is Python's str.strip() with no arguments.
func PyStrip(s string) string { return strings.TrimFunc(s, IsPySpace) }

func trimZeros(d string) string {
	t := strings.TrimLeft(d, "0")
	if t == "" {
		return "0"
	}
	return t
}

// Parse parses s as packaging.version.Version does. Surrounding whitespace
// and a leading "v" are accepted, as in packaging.
func Parse(s string) (Version, error) {
	m := versionRe.FindStringSubmatch(PyStrip(s))
	if m == nil {
		return Version{}, ErrInvalidVersion
	}
	var v Version
	v.Epoch = "0"
	if m[1] != "" {
		v.Epoch = trimZeros(m[1])
	}
	for _, p := range strings.Split(m[2], ".") {
		v.Release = append(v.Release, trimZeros(p))
	}
	if m[3] != "" {
		switch strings.ToLower(m[3]) {
		case "alpha", "a":
			v.PreL = "a"
		case "beta", "b":
			v.PreL = "b"
		default: // c, pre, preview, rc
			v.PreL = "rc"
		}
		v.PreN = "0"
		if m[4] != "" {
			v.PreN = trimZeros(m[4])
		}
	}
	switch {
	case m[5] != "":
		v.HasPost, v.PostN = true, trimZeros(m[5])
	case m[6] != "":
		v.HasPost, v.PostN = true, "0"
		if m[7] != "" {
			v.PostN = trimZeros(m[7])
		}
	}
	if m[8] != "" {
		v.HasDev, v.DevN = true, "0"
		if m[9] != "" {
			v.DevN = trimZeros(m[9])
		}
	}
	if m[10] != "" {
		for _, p := range strings.FieldsFunc(m[10], func(r rune) bool { return r == '-' || r == '_' || r == '.' }) {
			if isDigits(p) {
				p = trimZeros(p)
			} else {
				p = strings.ToLower(p)
			}
			v.Local = append(v.Local, p)
		}
	}
	return v, nil
}

// Valid reports whether s parses as a version.
func Valid(s string) bool {
	_, err := Parse(s)
	return err == nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String is str(Version): the normalized form, e.g. "1.0-alpha1" -> "1.0a1".
func (v Version) String() string {
	var b strings.Builder
	v.writePublic(&b, v.Release)
	if len(v.Local) > 0 {
		b.WriteByte('+')
		b.WriteString(strings.Join(v.Local, "."))
	}
	return b.String()
}

// Public is Version.public: the normalized version without the local part.
func (v Version) Public() string {
	var b strings.Builder
	v.writePublic(&b, v.Release)
	return b.String()
}

func (v Version) writePublic(b *strings.Builder, release []string) {
	if v.Epoch != "0" {
		b.WriteString(v.Epoch)
		b.WriteByte('!')
	}
	b.WriteString(strings.Join(release, "."))
	if v.PreL != "" {
		b.WriteString(v.PreL)
		b.WriteString(v.PreN)
	}
	if v.HasPost {
		b.WriteString(".post")
		b.WriteString(v.PostN)
	}
	if v.HasDev {
		b.WriteString(".dev")
		b.WriteString(v.DevN)
	}
}

// IsPostRelease is Version.is_post_release.
func (v Version) IsPostRelease() bool { return v.HasPost }

// IsPreRelease is Version.is_prerelease (a pre or dev segment).
func (v Version) IsPreRelease() bool { return v.PreL != "" || v.HasDev }

// HasLocal reports whether the version has a local segment.
func (v Version) HasLocal() bool { return len(v.Local) > 0 }

// trimmedRelease drops trailing zero components, keeping at least one.
func trimmedRelease(rel []string) []string {
	n := len(rel)
	for n > 1 && rel[n-1] == "0" {
		n--
	}
	return rel[:n]
}

// Canonical is canonicalize_version(v) for a parsed version: str(v) with
// trailing ".0" release components removed (packaging.utils,
// strip_trailing_zero=True). Warehouse matches releases on this value.
func (v Version) Canonical() string {
	var b strings.Builder
	v.writePublic(&b, trimmedRelease(v.Release))
	if len(v.Local) > 0 {
		b.WriteByte('+')
		b.WriteString(strings.Join(v.Local, "."))
	}
	return b.String()
}

// CanonicalizeVersion is packaging.utils.canonicalize_version: the
// canonical form of a valid version, or s unchanged when it is not one.
func CanonicalizeVersion(s string) string {
	v, err := Parse(s)
	if err != nil {
		return s
	}
	return v.Canonical()
}

// Normalize returns str(Version(s)), or an error for an invalid version.
func Normalize(s string) (string, error) {
	v, err := Parse(s)
	if err != nil {
		return "", err
	}
	return v.String(), nil
}

func cmpNum(a, b string) int {
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}

// Compare orders versions as packaging does (Version._key): epoch, release
// with trailing zeros ignored, then pre/post/dev with packaging's sentinel
// rules, then local (absent < present; numeric parts sort above strings).
// It returns -1, 0 or +1.
func Compare(a, b Version) int {
	if c := cmpNum(a.Epoch, b.Epoch); c != 0 {
		return c
	}
	ra, rb := trimmedRelease(a.Release), trimmedRelease(b.Release)
	for i := 0; i < len(ra) || i < len(rb); i++ {
		x, y := "0", "0"
		if i < len(ra) {
			x = ra[i]
		}
		if i < len(rb) {
			y = rb[i]
		}
		if c := cmpNum(x, y); c != 0 {
			return c
		}
	}
	if c := cmpPre(a, b); c != 0 {
		return c
	}
	if c := cmpOptional(a.HasPost, a.PostN, b.HasPost, b.PostN, -1); c != 0 {
		return c
	}
	if c := cmpOptional(a.HasDev, a.DevN, b.HasDev, b.DevN, +1); c != 0 {
		return c
	}
	return cmpLocal(a.Local, b.Local)
}

// preRank maps the pre-release segment to a sortable rank: a dev-only
// version sorts before any pre-release (-Infinity), no pre-release sorts
// after all of them (+Infinity).
func preRank(v Version) (rank int, n string) {
	switch {
	case v.PreL == "" && !v.HasPost && v.HasDev:
		return -1, ""
	case v.PreL == "":
		return 4, ""
	case v.PreL == "a":
		return 1, v.PreN
	case v.PreL == "b":
		return 2, v.PreN
	default:
		return 3, v.PreN
	}
}

func cmpPre(a, b Version) int {
	ra, na := preRank(a)
	rb, nb := preRank(b)
	if ra != rb {
		if ra < rb {
			return -1
		}
		return 1
	}
	return cmpNum(na, nb)
}

// cmpOptional compares an optional numeric segment; absent sorts at
// absentSign infinity (-1 for post, +1 for dev).
func cmpOptional(ha bool, na string, hb bool, nb string, absentSign int) int {
	switch {
	case ha && hb:
		return cmpNum(na, nb)
	case !ha && !hb:
		return 0
	case !ha:
		return absentSign
	default:
		return -absentSign
	}
}

func cmpLocal(a, b []string) int {
	if len(a) == 0 || len(b) == 0 {
		switch {
		case len(a) == len(b):
			return 0
		case len(a) == 0:
			return -1
		default:
			return 1
		}
	}
	for i := 0; i < len(a) && i < len(b); i++ {
		da, db := isDigits(a[i]), isDigits(b[i])
		var c int
		switch {
		case da && db:
			c = cmpNum(a[i], b[i])
		case da:
			c = 1
		case db:
			c = -1
		default:
			c = strings.Compare(a[i], b[i])
		}
		if c != 0 {
			return c
		}
	}
	switch {
	case len(a) < len(b):
		return -1
	case len(a) > len(b):
		return 1
	}
	return 0
}

// Equal reports Version(a) == Version(b) (equal comparison keys), so
// "1.0" equals "1.0.0".
func Equal(a, b Version) bool { return Compare(a, b) == 0 }
