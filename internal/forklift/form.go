package forklift

import (
	"sort"
	"strings"

	"github.com/fakepypi/fakepypi/internal/forklift/pep440"
	"github.com/fakepypi/fakepypi/internal/forklift/pyname"
	"github.com/fakepypi/fakepypi/internal/lazyregexp"
	"github.com/fakepypi/fakepypi/internal/pyfmt"
)

// Fields are the non-file parts of the multipart upload, in the order each
// key's values arrived. Repeated keys (classifiers, requires_dist, ...) are
// allowed, as on Warehouse's view (permit_duplicate_post_keys=True).
type Fields map[string][]string

// Get returns the first value of key, as a WTForms StringField reads it.
func (f Fields) Get(key string) (string, bool) {
	v, ok := f[key]
	if !ok || len(v) == 0 {
		return "", false
	}
	return v[0], true
}

// Sanitize applies step 1 of the upload view in place (legacy.py /
// decorators.py sanitize): for every key, the value that webob's
// MultiDict.get returns (the last one) decides; if it strips to "UNKNOWN"
// (distutils' placeholder) every value of the key is deleted, and if it
// contains NUL the key is replaced by that single value with each NUL
// written as the four characters \x00 (psycopg cannot store NUL).
//
// The file-part check of step 1 ("{field}: Should not be a tuple.") needs
// the multipart structure; use FileFieldError for it.
func Sanitize(f Fields) {
	for key, vals := range f {
		if len(vals) == 0 {
			continue
		}
		last := vals[len(vals)-1]
		if pep440.PyStrip(last) == "UNKNOWN" {
			delete(f, key)
			continue
		}
		if strings.Contains(last, "\x00") {
			f[key] = []string{strings.ReplaceAll(last, "\x00", `\x00`)}
		}
	}
}

// FileFieldError returns the step-1 error for a form field other than
// "content" or "gpg_signature" that was sent as a file part, or nil.
func FileFieldError(field string) *Error {
	if field == "content" || field == "gpg_signature" {
		return nil
	}
	return badRequest("%s: Should not be a tuple.", field)
}

// Form is the validated UploadForm (warehouse/forklift/forms.py).
type Form struct {
	Name            string
	Filetype        string // "sdist" or "bdist_wheel"
	Pyversion       string // "source" for an sdist without one
	Comment         string
	MD5Digest       string
	SHA256Digest    string
	Blake2256Digest string
}

// projectNameMessage is the Regexp message of UploadForm.name.
const projectNameMessage = "Start and end with a letter or numeral containing only ASCII numeric and '.', '_' and '-'."

var hex64 = lazyregexp.New(`^[A-Fa-f0-9]{64}$`)

// errorPriority is legacy.py _error_message_order: these keys win over the
// others, which are taken in sorted order.
var errorPriority = []string{"metadata-version", "name", "version"}

func pickErrorKey(keys []string) string {
	for _, p := range errorPriority {
		for _, k := range keys {
			if k == p {
				return k
			}
		}
	}
	sort.Strings(keys)
	return keys[0]
}

// ValidateForm runs steps 5 and 6 on sanitized fields: the protocol_version
// check, then UploadForm validation with Warehouse's message construction.
func ValidateForm(f Fields) (*Form, *Error) {
	// legacy.py: request.POST.get("protocol_version", "1") != "1"; webob's
	// get returns the last value.
	if pv, ok := f["protocol_version"]; ok && len(pv) > 0 && pv[len(pv)-1] != "1" {
		return nil, badRequest("Unknown protocol version.")
	}

	errs := map[string]string{}
	// name: InputRequired, then Regexp(PROJECT_NAME_RE, IGNORECASE).
	// InputRequired looks at the raw first value; wtforms' Regexp matches
	// with re.match, whose '$'-free pattern ends in \Z.
	name, _ := f.Get("name")
	if name == "" {
		errs["name"] = "This field is required."
	} else if !pyname.ValidName(name) {
		errs["name"] = projectNameMessage
	}
	filetype, _ := f.Get("filetype")
	if filetype == "" {
		errs["filetype"] = "This field is required."
	} else if filetype != "sdist" && filetype != "bdist_wheel" {
		errs["filetype"] = "Use a known file type."
	}
	// Optional() stops the chain for empty values, so only non-empty
	// digests are format-checked.
	sha, _ := f.Get("sha256_digest")
	if sha != "" && !hex64().MatchString(sha) {
		errs["sha256_digest"] = "Use a valid, hex-encoded, SHA256 message digest."
	}
	blake, _ := f.Get("blake2_256_digest")
	if blake != "" && !hex64().MatchString(blake) {
		errs["blake2_256_digest"] = "Use a valid, hex-encoded, BLAKE2 message digest."
	}
	// pyversion: rejected for a binary upload without one, and for an sdist
	// with anything but "source" (warehouse/forklift/forms.py, test_fails_invalid_post_data).
	pyversion, _ := f.Get("pyversion")
	if filetype != "" && filetype != "sdist" && pyversion == "" {
		errs["pyversion"] = "Python version is required for binary distribution uploads."
	} else if filetype == "sdist" && pyversion != "" && pyversion != "source" {
		errs["pyversion"] = "Use 'source' as Python version for an sdist."
	}
	if len(errs) > 0 {
		keys := make([]string, 0, len(errs))
		for k := range errs {
			keys = append(keys, k)
		}
		key := pickErrorKey(keys)
		if key == "name" {
			// The only field with a description: message quotes the value,
			// shortened to 30 + "..." + 30 characters past 60.
			shown := name
			if rs := []rune(name); len(rs) > 60 {
				shown = string(rs[:30]) + "..." + string(rs[len(rs)-30:])
			}
			return nil, badRequest("%s is an invalid value for Name. Error: %s See %s for more information.",
				pyfmt.Repr(shown), errs[key], coreMetadataHelp)
		}
		return nil, badRequest("Invalid value for %s. Error: %s", key, errs[key])
	}

	form := &Form{Name: name, Filetype: filetype, Pyversion: pyversion}
	form.Comment, _ = f.Get("comment")
	form.MD5Digest, _ = f.Get("md5_digest")
	form.SHA256Digest = sha
	form.Blake2256Digest = blake

	if form.Filetype == "sdist" && form.Pyversion == "" {
		form.Pyversion = "source"
	}
	// forms.py UploadForm.full_validate: a form-level error, rendered
	// "Error: ..." (key None), only reached when every field passed.
	if form.MD5Digest == "" && form.SHA256Digest == "" && form.Blake2256Digest == "" {
		return nil, badRequest("Error: Include at least one message digest.")
	}
	return form, nil
}

// ValidateContentType is step 18: the content part must carry a non-empty
// Content-Type that is not image/*.
func ValidateContentType(contentType string) *Error {
	if contentType == "" || strings.HasPrefix(contentType, "image/") {
		return badRequest("Invalid distribution file.")
	}
	return nil
}
