package forklift

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/fakepypi/fakepypi/internal/forklift/pep440"
	"github.com/fakepypi/fakepypi/internal/forklift/pyname"
	"github.com/fakepypi/fakepypi/internal/lazyregexp"
	"github.com/fakepypi/fakepypi/internal/pyfmt"
)

// distFileRe is legacy.py _dist_file_re, matched case-insensitively.
var distFileRe = lazyregexp.New(`(?i)^.+?(\.(?:tar\.gz|zip|whl))$`)

// ValidateFilename is step 17 (legacy.py _validate_filename): control
// characters, path separators, then the extension against the filetype.
// The extension match is case-insensitive but the allowed-extension lookup
// is not, so "X.WHL" is refused as "Extension .WHL is invalid ...".
func ValidateFilename(filename, filetype string) *Error {
	for _, r := range filename {
		if r < 32 || r == 127 {
			return badRequest("Cannot upload a file with non-printable characters (ordinals 0-31) or the DEL character (ordinal 127) in the name.")
		}
	}
	if strings.ContainsAny(filename, `/\`) {
		return badRequest(`Cannot upload a file with '/' or '\' in the name.`)
	}
	m := distFileRe().FindStringSubmatch(filename)
	if m == nil {
		return badRequest("Invalid file extension: Use .tar.gz, .whl or .zip extension. See https://www.python.org/dev/peps/pep-0527 and https://peps.python.org/pep-0715/ for more information")
	}
	ext := m[1]
	ok := false
	switch filetype {
	case "sdist":
		ok = ext == ".tar.gz" || ext == ".zip"
	case "bdist_wheel":
		ok = ext == ".whl"
	}
	if !ok {
		return badRequest("Invalid file extension: Extension %s is invalid for filetype %s. See https://www.python.org/dev/peps/pep-0527 for more information.", ext, filetype)
	}
	return nil
}

// sdistVersion is parse_sdist_filename's result.
type sdistName struct {
	name    string // canonical
	version pep440.Version
}

// parseSdistFilename is packaging.utils.parse_sdist_filename: ".tar.gz" or
// ".zip", then name and version split on the last '-'.
func parseSdistFilename(filename string) (sdistName, bool) {
	var stem string
	switch {
	case strings.HasSuffix(filename, ".tar.gz"):
		stem = strings.TrimSuffix(filename, ".tar.gz")
	case strings.HasSuffix(filename, ".zip"):
		stem = strings.TrimSuffix(filename, ".zip")
	default:
		return sdistName{}, false
	}
	i := strings.LastIndexByte(stem, '-')
	if i < 0 {
		return sdistName{}, false
	}
	v, err := pep440.Parse(stem[i+1:])
	if err != nil {
		return sdistName{}, false
	}
	return sdistName{pyname.Normalize(stem[:i]), v}, true
}

// CheckSdistFilename is step 26 (PEP 625): the sdist filename must parse,
// belong to the project, and equal "<normalized_name with _>-<normalized
// version>.tar.gz". projectName is the project's display name and
// projectNormalized its PEP 503 name.
func CheckSdistFilename(filename string, meta *Metadata, projectName, projectNormalized string) *Error {
	parsed, ok := parseSdistFilename(filename)
	if !ok {
		return badRequest("Invalid source distribution filename: %s", filename)
	}
	nameFromFilename := parsed.name
	// legacy.py: a post-release version may contain a hyphen ("1.0-9");
	// retry splitting on the second-to-last '-' when the name does not
	// match. canonicalize_name is applied to the result just below.
	if meta.Version.IsPostRelease() && nameFromFilename != pyname.Normalize(meta.Name) && strings.Count(filename, "-") >= 2 {
		head, _, _ := cutLast(filename, "-")
		head, _, _ = cutLast(head, "-")
		nameFromFilename = pyname.Normalize(head)
	}
	if nameFromFilename != projectNormalized {
		return badRequest("Start filename for %s with %s.", pyfmt.Repr(projectName), pyfmt.Repr(strings.ReplaceAll(projectNormalized, "-", "_")))
	}
	expected := strings.ReplaceAll(projectNormalized, "-", "_") + "-" + meta.Version.String() + ".tar.gz"
	if filename != expected {
		return badRequest("Filename %s is invalid, should be %s.", pyfmt.Repr(filename), pyfmt.Repr(expected))
	}
	return nil
}

func cutLast(s, sep string) (before, after string, found bool) {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return s, "", false
}

// WheelTag is one (interpreter, abi, platform) tag, lowercased.
type WheelTag struct{ Interpreter, ABI, Platform string }

// WheelFilename is packaging.utils.parse_wheel_filename's result.
type WheelFilename struct {
	Name     string // canonical
	Version  pep440.Version
	Build    string // "" when absent, else the build tag as written
	Tags     []WheelTag
	Platform []string // distinct platform tags, in filename order
}

var buildTagRe = lazyregexp.New(`^(\d+)(.*)$`)

// wheelNamePartOK is re.match(r"^[\w\d._]*$", name, re.UNICODE).
func wheelNamePartOK(s string) bool {
	for _, r := range s {
		if !(r == '_' || r == '.' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Nd, r) || unicode.IsNumber(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r) || unicode.Is(unicode.Pc, r)) {
			return false
		}
	}
	return true
}

// ParseWheelFilename is packaging.utils.parse_wheel_filename with its
// exact InvalidWheelFilename messages (the filename is shown without
// ".whl").
func ParseWheelFilename(filename string) (*WheelFilename, error) {
	if !strings.HasSuffix(filename, ".whl") {
		return nil, fmt.Errorf("Invalid wheel filename (extension must be '.whl'): %s", pyfmt.Repr(filename))
	}
	stem := strings.TrimSuffix(filename, ".whl")
	dashes := strings.Count(stem, "-")
	if dashes != 4 && dashes != 5 {
		return nil, fmt.Errorf("Invalid wheel filename (wrong number of parts): %s", pyfmt.Repr(stem))
	}
	parts := strings.SplitN(stem, "-", dashes-1)
	namePart := parts[0]
	if strings.Contains(namePart, "__") || !wheelNamePartOK(namePart) {
		return nil, fmt.Errorf("Invalid project name: %s", pyfmt.Repr(stem))
	}
	v, err := pep440.Parse(parts[1])
	if err != nil {
		return nil, fmt.Errorf("Invalid wheel filename (invalid version): %s", pyfmt.Repr(stem))
	}
	w := &WheelFilename{Name: pyname.Normalize(namePart), Version: v}
	if dashes == 5 {
		if !buildTagRe().MatchString(parts[2]) {
			return nil, fmt.Errorf("Invalid build number: %s in %s", parts[2], pyfmt.Repr(stem))
		}
		w.Build = parts[2]
	}
	tagPart := strings.ToLower(parts[len(parts)-1])
	seg := strings.Split(tagPart, "-")
	seenPlat := map[string]bool{}
	for _, interp := range strings.Split(seg[0], ".") {
		for _, abi := range strings.Split(seg[1], ".") {
			for _, plat := range strings.Split(seg[2], ".") {
				w.Tags = append(w.Tags, WheelTag{interp, abi, plat})
				if !seenPlat[plat] {
					seenPlat[plat] = true
					w.Platform = append(w.Platform, plat)
				}
			}
		}
	}
	return w, nil
}

// allowedPlatforms is legacy.py _allowed_platforms.
var allowedPlatforms = map[string]bool{
	"any": true, "win32": true, "win_arm64": true, "win_amd64": true, "win_ia64": true,
	"manylinux1_x86_64": true, "manylinux1_i686": true,
	"manylinux2010_x86_64": true, "manylinux2010_i686": true,
	"manylinux2014_x86_64": true, "manylinux2014_i686": true, "manylinux2014_aarch64": true,
	"manylinux2014_armv7l": true, "manylinux2014_ppc64": true, "manylinux2014_ppc64le": true,
	"manylinux2014_s390x": true, "linux_armv6l": true, "linux_armv7l": true,
}

var (
	macosxRe  = lazyregexp.New(`^macosx_(\d+)_(\d+)_(.*)`)
	linuxRe   = lazyregexp.New(`^(many|musl)linux_(\d+)_(\d+)_(.*)`)
	iosRe     = lazyregexp.New(`^ios_(\d+)_(\d+)_(.*)_(?:iphoneos|iphonesimulator)`)
	androidRe = lazyregexp.New(`^android_(\d+)_(.*)`)
	emsRe     = lazyregexp.New(`^pyemscripten_(\d+)_(\d+)_wasm32$`)

	macosxArches   = set("ppc", "ppc64", "i386", "x86_64", "arm64", "intel", "fat", "fat3", "fat64", "universal", "universal2")
	macosxMajors   = set("11", "12", "13", "14", "15", "26")
	jointLinux     = []string{"x86_64", "i686", "aarch64", "armv7l", "ppc64le", "s390x", "riscv64"}
	manylinuxArchs = set(append(jointLinux, "ppc64")...)
	musllinuxArchs = set(jointLinux...)
	iosArches      = set("arm64", "x86_64")
	androidArches  = set("armeabi_v7a", "arm64_v8a", "x86", "x86_64")
)

func set(items ...string) map[string]bool {
	m := make(map[string]bool, len(items))
	for _, i := range items {
		m[i] = true
	}
	return m
}

// ValidPlatformTag is legacy.py _valid_platform_tag. Python's re.match
// anchors only at the start, so the iOS and Android patterns accept
// trailing text after the match, as here.
func ValidPlatformTag(tag string) bool {
	if allowedPlatforms[tag] {
		return true
	}
	if m := macosxRe().FindStringSubmatch(tag); m != nil {
		if m[1] == "10" && macosxArches[m[3]] {
			return true
		}
		if macosxMajors[m[1]] && m[2] == "0" && macosxArches[m[3]] {
			return true
		}
	}
	if m := linuxRe().FindStringSubmatch(tag); m != nil {
		if m[1] == "musl" {
			return musllinuxArchs[m[4]]
		}
		return manylinuxArchs[m[4]]
	}
	if m := iosRe().FindStringSubmatch(tag); m != nil && iosArches[m[3]] {
		return true
	}
	if m := androidRe().FindStringSubmatch(tag); m != nil && androidArches[m[2]] {
		return true
	}
	return emsRe().MatchString(tag)
}

// CheckWheelFilename is step 27 (warehouse/forklift/legacy.py, items 1-5 of its wheel checks): packaging's parse
// errors passed through, platform tags, the canonical name against the
// metadata name, the exact normalized name prefix, and the version.
func CheckWheelFilename(filename string, meta *Metadata, projectName, projectNormalized string) (*WheelFilename, *Error) {
	w, err := ParseWheelFilename(filename)
	if err != nil {
		return nil, badRequest("%s", err.Error())
	}
	for _, t := range w.Tags {
		if !ValidPlatformTag(t.Platform) {
			return nil, badRequest("Binary wheel '%s' has an unsupported platform tag '%s'.", filename, t.Platform)
		}
	}
	if canonical := pyname.Normalize(meta.Name); canonical != w.Name {
		return nil, badRequest("Start filename for %s with %s.", pyfmt.Repr(projectName), pyfmt.Repr(strings.ReplaceAll(canonical, "-", "_")))
	}
	nameFromFilename, _, _ := strings.Cut(filename, "-")
	normalized := strings.ReplaceAll(projectNormalized, "-", "_")
	if nameFromFilename != normalized {
		return nil, badRequest("Filename %s should contain the normalized project name %s, not %s.", pyfmt.Repr(filename), pyfmt.Repr(normalized), pyfmt.Repr(nameFromFilename))
	}
	if !pep440.Equal(meta.Version, w.Version) {
		return nil, badRequest("Version in filename should be %s not %s.", pyfmt.Repr(meta.Version.String()), pyfmt.Repr(w.Version.String()))
	}
	return w, nil
}
