// Package pyname holds PyPI's project-name rules: PEP 503 normalization,
// Warehouse's "ultranormalization" used for the too-similar check, the
// project-name regex, the standard-library name list, and the ordered
// new-project name checks of Warehouse's ProjectService.check_project_name.
//
// It depends on the standard library only, so that both the upload path and
// the Trusted Publishing (pending publisher) path can call it.
package pyname

import (
	_ "embed"
	"fmt"
	"strings"
	"sync"

	"github.com/fakepypi/fakepypi/internal/pyfmt"
	"github.com/fakepypi/fakepypi/internal/pypierr"
)

// Normalize returns the PEP 503 normalized form of name: lowercase, with
// every run of '-', '_' and '.' replaced by a single '-'. This is
// packaging.utils.canonicalize_name and Warehouse's SQL function
// normalize_pep426_name (lower(regexp_replace(x, '(\.|_|-)+', '-'))).
func Normalize(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	inRun := false
	for _, r := range name {
		if r == '-' || r == '_' || r == '.' {
			if !inRun {
				b.WriteByte('-')
			}
			inRun = true
			continue
		}
		inRun = false
		b.WriteRune(r)
	}
	return pyLower(b.String())
}

// Ultranormalize returns Warehouse's ultranormalized name (migration
// d18d443f89f0, ultranormalize_name): lowercase, drop every '.', '_' and
// '-', then map 'l' and 'i' to '1' and 'o' to '0'. Two projects whose
// ultranormalized names are equal are "too similar".
func Ultranormalize(name string) string {
	var b strings.Builder
	for _, r := range pyLower(name) {
		switch r {
		case '.', '_', '-':
			continue
		case 'l', 'i':
			b.WriteByte('1')
		case 'o':
			b.WriteByte('0')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// pyLower lowercases like Python's str.lower for the characters that can
// reach it after the name regex (ASCII plus the few non-ASCII letters that
// Python's case-insensitive [A-Z] accepts, see isNameLetter).
func pyLower(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case 'İ':
			// Python lowercases U+0130 to "i̇" (two code points); strings.Map
			// cannot expand, and such a name is exotic enough that "i" is
			// an acceptable approximation.
			return 'i'
		}
		return []rune(strings.ToLower(string(r)))[0]
	}, s)
}

// isNameLetter reports whether r matches [A-Z0-9] under Python's
// re.IGNORECASE with a str pattern. Besides ASCII letters and digits,
// Python's Unicode case folding lets four non-ASCII letters through:
// U+0130 'İ', U+0131 'ı', U+017F 'ſ' and U+212A 'K' (Kelvin sign). Warehouse
// compiles PROJECT_NAME_RE that way, so those names pass the regex there.
func isNameLetter(r rune) bool {
	switch {
	case r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		return true
	case r == 'İ', r == 'ı', r == 'ſ', r == 'K':
		return true
	}
	return false
}

// ValidName reports whether name matches Warehouse's PROJECT_NAME_RE,
// ^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])\Z compiled with re.IGNORECASE
// (warehouse/utils/project.py). The same pattern with '$' is used by
// packaging.utils.canonicalize_name(validate=True); '$' additionally accepts
// one trailing "\n", see ValidNameDollar.
func ValidName(name string) bool {
	rs := []rune(name)
	if len(rs) == 0 {
		return false
	}
	if !isNameLetter(rs[0]) || !isNameLetter(rs[len(rs)-1]) {
		return false
	}
	if len(rs) == 1 {
		return true
	}
	for _, r := range rs[1 : len(rs)-1] {
		if !isNameLetter(r) && r != '.' && r != '_' && r != '-' {
			return false
		}
	}
	return true
}

// NameProblem explains why name is not a valid project name, or returns
// "" when it is. The control plane and the configuration file create
// projects as an admin would, skipping create_project's other rules, but
// never under a name PyPI could not hold (a "../../x" would end up in
// URLs and paths).
func NameProblem(name string) string {
	if ValidName(name) {
		return ""
	}
	return fmt.Sprintf("%s is not a valid project name: it must start and end with an ASCII letter or digit, "+
		"with only letters, digits, '.', '_' and '-' between (PROJECT_NAME_RE, warehouse/utils/project.py)", pyfmt.Repr(name))
}

// ValidNameDollar is ValidName for the variant of the pattern that ends in
// '$' (packaging.utils._validate_regex), which in Python also matches just
// before a single trailing newline.
func ValidNameDollar(name string) bool {
	return ValidName(strings.TrimSuffix(name, "\n"))
}

//go:embed data/stdlib-module-names.txt
var stdlibData string

// stdlibNames is built at first use (a new project's name check), not at
// init: a server whose projects all exist never needs the 150 KB map.
var stdlibNames = sync.OnceValue(func() map[string]struct{} {
	m := make(map[string]struct{}, 2400)
	for _, line := range strings.Split(stdlibData, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m[line] = struct{}{}
	}
	return m
})

// IsStdlib reports whether name, once normalized, is one of the standard
// library module names (every Python version in stdlib-list 0.12.0,
// including every dotted prefix) that Warehouse refuses for new projects
// (warehouse/packaging/services.py STDLIB_PROHIBITED).
func IsStdlib(name string) bool {
	_, ok := stdlibNames()[Normalize(name)]
	return ok
}

// Registry answers the questions check_project_name asks the database. Any
// of the functions may be nil, meaning "no".
type Registry struct {
	// Exists reports whether a project with this normalized (PEP 503) name
	// exists.
	Exists func(normalized string) bool
	// Prohibited reports whether this normalized name is on the admin
	// prohibited-names list.
	Prohibited func(normalized string) bool
	// TooSimilar reports whether an existing project has this
	// ultranormalized name.
	TooSimilar func(ultranormalized string) bool
	// Help is the domain of the messages' help link (pypi.org when
	// empty; warehouse/packaging/services.py uses request.help_url).
	Help pypierr.Help
}

// CheckProjectName applies Warehouse's new-project name rules in their
// order (ProjectService.check_project_name): regex, standard-library name,
// existing name, prohibited name, too similar. It returns nil when the name
// may be registered. The admin flag disallow-new-project-registration and
// the creation rate limit are checked by create_project before this and are
// the caller's business.
func CheckProjectName(name string, reg Registry) *pypierr.Error {
	if !ValidName(name) {
		return pypierr.New(400, fmt.Sprintf("The name %s is invalid.", pyfmt.Repr(name)))
	}
	if IsStdlib(name) {
		return pypierr.New(400, fmt.Sprintf("The name %s isn't allowed (conflict with Python Standard Library module name). See %s for more information.", pyfmt.Repr(name), reg.Help.URL("project-name")))
	}
	norm := Normalize(name)
	if reg.Exists != nil && reg.Exists(norm) {
		return pypierr.New(409, fmt.Sprintf("The name %s conflicts with an existing project. See %s for more information.", pyfmt.Repr(name), reg.Help.URL("project-name")))
	}
	if reg.Prohibited != nil && reg.Prohibited(norm) {
		return pypierr.New(400, fmt.Sprintf("The name %s isn't allowed. See %s for more information.", pyfmt.Repr(name), reg.Help.URL("project-name")))
	}
	if reg.TooSimilar != nil && reg.TooSimilar(Ultranormalize(name)) {
		return pypierr.New(400, fmt.Sprintf("The name %s is too similar to an existing project. See %s for more information.", pyfmt.Repr(name), reg.Help.URL("project-name")))
	}
	return nil
}
