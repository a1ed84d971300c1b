package forklift

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/fakepypi/fakepypi/internal/forklift/pep440"
	"github.com/fakepypi/fakepypi/internal/forklift/pep508"
	"github.com/fakepypi/fakepypi/internal/forklift/pyname"
	"github.com/fakepypi/fakepypi/internal/pyfmt"
)

// SupportedMetadataVersions are the Metadata-Version values accepted on
// upload (warehouse/forklift/metadata.py SUPPORTED_METADATA_VERSIONS, all
// of which packaging 26.2 also knows). "2.0" is not one of them.
var SupportedMetadataVersions = []string{"1.0", "1.1", "1.2", "2.1", "2.2", "2.3", "2.4", "2.5"}

type fieldKind int

const (
	kindString fieldKind = iota
	kindList
	kindKeywords
	kindURLs
)

// fieldSpec describes one core-metadata field: its RawMetadata key, the
// form key Warehouse reads it from, its email header name (used in
// messages and as the error key) and the metadata version that introduced
// it (packaging.metadata.Metadata validators' "added").
type fieldSpec struct {
	raw, form, email, added string
	kind                    fieldKind
}

// fields is packaging's _EMAIL_TO_RAW_MAPPING with the form key mapping of
// Warehouse's _FORM_TO_RAW_MAPPING (plural list keys except platform,
// supported_platform, license_file, import_name, import_namespace).
var fields = []fieldSpec{
	{"author", "author", "author", "1.0", kindString},
	{"author_email", "author_email", "author-email", "1.0", kindString},
	{"classifiers", "classifiers", "classifier", "1.1", kindList},
	{"description", "description", "description", "1.0", kindString},
	{"description_content_type", "description_content_type", "description-content-type", "2.1", kindString},
	{"download_url", "download_url", "download-url", "1.1", kindString},
	{"dynamic", "dynamic", "dynamic", "2.2", kindList},
	{"home_page", "home_page", "home-page", "1.0", kindString},
	{"import_names", "import_name", "import-name", "2.5", kindList},
	{"import_namespaces", "import_namespace", "import-namespace", "2.5", kindList},
	{"keywords", "keywords", "keywords", "1.0", kindKeywords},
	{"license", "license", "license", "1.0", kindString},
	{"license_expression", "license_expression", "license-expression", "2.4", kindString},
	{"license_files", "license_file", "license-file", "2.4", kindList},
	{"maintainer", "maintainer", "maintainer", "1.2", kindString},
	{"maintainer_email", "maintainer_email", "maintainer-email", "1.2", kindString},
	{"metadata_version", "metadata_version", "metadata-version", "1.0", kindString},
	{"name", "name", "name", "1.0", kindString},
	{"obsoletes", "obsoletes", "obsoletes", "1.1", kindList},
	{"obsoletes_dist", "obsoletes_dist", "obsoletes-dist", "1.2", kindList},
	{"platforms", "platform", "platform", "1.0", kindList},
	{"project_urls", "project_urls", "project-url", "1.2", kindURLs},
	{"provides", "provides", "provides", "1.1", kindList},
	{"provides_dist", "provides_dist", "provides-dist", "1.2", kindList},
	{"provides_extra", "provides_extra", "provides-extra", "2.1", kindList},
	{"requires", "requires", "requires", "1.1", kindList},
	{"requires_dist", "requires_dist", "requires-dist", "1.2", kindList},
	{"requires_external", "requires_external", "requires-external", "1.2", kindList},
	{"requires_python", "requires_python", "requires-python", "1.2", kindString},
	{"summary", "summary", "summary", "1.0", kindString},
	{"supported_platforms", "supported_platform", "supported-platform", "1.1", kindList},
	{"version", "version", "version", "1.0", kindString},
}

var emailFieldNames = func() map[string]bool {
	m := map[string]bool{}
	for _, f := range fields {
		m[f.email] = true
	}
	return m
}()

// dynamicAllowed is Warehouse's DYNAMIC_FIELDS, lowercased.
var dynamicAllowed = map[string]bool{
	"platform": true, "supported-platform": true, "summary": true, "description": true,
	"description-content-type": true, "keywords": true, "home-page": true, "download-url": true,
	"author": true, "author-email": true, "maintainer": true, "maintainer-email": true,
	"license": true, "license-expression": true, "license-file": true, "classifier": true,
	"requires-dist": true, "requires-python": true, "requires-external": true, "project-url": true,
	"provides-extra": true, "provides-dist": true, "obsoletes-dist": true, "requires": true,
	"provides": true, "obsoletes": true, "import-name": true, "import-namespace": true,
}

// ProjectURL is one "Label, URL" entry of Project-URL, in upload order.
type ProjectURL struct {
	Label string
	URL   string
}

// Metadata is validated core metadata built from the upload form. Optional
// string fields are nil when the form did not carry them.
type Metadata struct {
	MetadataVersion string
	Name            string // as sent, not normalized
	Version         pep440.Version

	Summary                *string
	Description            *string
	DescriptionContentType *string
	Author                 *string
	AuthorEmail            *string
	Maintainer             *string
	MaintainerEmail        *string
	License                *string
	LicenseExpression      *string
	HomePage               *string
	DownloadURL            *string

	Keywords           []string // split on "," and stripped
	Classifiers        []string
	Platforms          []string
	SupportedPlatforms []string
	Dynamic            []string // lowercased
	ProvidesExtra      []string // normalized (PEP 685)
	RequiresDist       []*pep508.Requirement
	RequiresPython     *pep440.SpecifierSet
	RequiresExternal   []string
	ProvidesDist       []string
	ObsoletesDist      []string
	Requires           []string
	Provides           []string
	Obsoletes          []string
	LicenseFiles       []string
	ImportNames        []string
	ImportNamespaces   []string
	ProjectURLs        []ProjectURL
}

// metaErr is packaging's InvalidMetadata: the field key that decides the
// reported error, and the message.
type metaErr struct{ field, msg string }

type metaErrs []metaErr

func (e *metaErrs) add(field, format string, args ...any) {
	*e = append(*e, metaErr{field, fmt.Sprintf(format, args...)})
}

// render picks the reported error as legacy.py does: the first error of
// the highest-priority field ("metadata-version", "name", "version", then
// sorted keys), with a final period and the core-metadata "See" link.
func (e metaErrs) render() *Error {
	byKey := map[string][]metaErr{}
	var keys []string
	for _, x := range e {
		if _, ok := byKey[x.field]; !ok {
			keys = append(keys, x.field)
		}
		byKey[x.field] = append(byKey[x.field], x)
	}
	msg := byKey[pickErrorKey(keys)][0].msg
	if strings.HasPrefix(msg, "The use of local versions in ") {
		// Warehouse points this one at the version specifiers spec.
		return badRequest("%s See https://packaging.python.org/en/latest/specifications/version-specifiers/#local-version-identifiers for more information.", msg)
	}
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return badRequest("%s See %s for more information.", msg, coreMetadataHelp)
}

type rawValue struct {
	str  string
	list []string
	urls []ProjectURL
}

// ParseMetadata is step 7: warehouse/forklift/metadata.py parse(None,
// form_data=...), i.e. parse_form_metadata, packaging's
// Metadata.from_raw validation, then Warehouse's own rules.
func ParseMetadata(f Fields) (*Metadata, *Error) {
	raw := map[string]rawValue{}
	var unparsed metaErrs
	for _, spec := range fields {
		vals, ok := f[spec.form]
		if !ok || len(vals) == 0 {
			continue
		}
		// An empty string is treated as if the field were absent.
		if len(vals) == 1 && vals[0] == "" {
			continue
		}
		switch spec.kind {
		case kindString:
			if len(vals) != 1 {
				unparsed.add(spec.form, "%s has invalid data", pyfmt.Repr(spec.form))
				continue
			}
			raw[spec.raw] = rawValue{str: vals[0]}
		case kindList:
			raw[spec.raw] = rawValue{list: vals}
		case kindKeywords:
			if len(vals) != 1 {
				unparsed.add(spec.form, "%s has invalid data", pyfmt.Repr(spec.form))
				continue
			}
			var kws []string
			for _, k := range strings.Split(vals[0], ",") {
				kws = append(kws, pep440.PyStrip(k))
			}
			raw[spec.raw] = rawValue{list: kws}
		case kindURLs:
			urls, ok := parseProjectURLs(vals)
			if !ok {
				unparsed.add(spec.form, "%s has invalid data", pyfmt.Repr(spec.form))
				continue
			}
			raw[spec.raw] = rawValue{urls: urls}
		}
	}
	if len(unparsed) > 0 {
		return nil, unparsed.render()
	}

	m := &Metadata{}
	var errs metaErrs
	validatePackaging(raw, m, &errs)
	if len(errs) > 0 {
		return nil, errs.render()
	}
	validateWarehouse(m, &errs)
	if len(errs) > 0 {
		return nil, errs.render()
	}
	return m, nil
}

// parseProjectURLs is packaging.metadata._parse_project_urls: "label, url"
// split on the first comma, both stripped; a repeated label makes the whole
// field unparsable.
func parseProjectURLs(vals []string) ([]ProjectURL, bool) {
	seen := map[string]bool{}
	var out []ProjectURL
	for _, v := range vals {
		label, url, _ := strings.Cut(v, ",")
		label, url = pep440.PyStrip(label), pep440.PyStrip(url)
		if seen[label] {
			return nil, false
		}
		seen[label] = true
		out = append(out, ProjectURL{label, url})
	}
	return out, true
}

func versionIndex(v string) int {
	for i, s := range SupportedMetadataVersions {
		if s == v {
			return i
		}
	}
	return -1
}

func strPtr(s string) *string { return &s }

// validatePackaging is Metadata.from_raw(validate=True): the metadata
// version, field gating by version, then each present (or required) field's
// _process_* rule. Every field contributes at most one error.
func validatePackaging(raw map[string]rawValue, m *Metadata, errs *metaErrs) {
	declared := -1
	if mv, ok := raw["metadata_version"]; ok {
		if declared = versionIndex(mv.str); declared < 0 {
			errs.add("metadata-version", "%s is not a valid metadata version", pyfmt.Repr(mv.str))
		}
		m.MetadataVersion = mv.str
	} else {
		errs.add("metadata-version", "None is not a valid metadata version")
	}
	for _, spec := range fields {
		if spec.raw == "metadata_version" {
			continue
		}
		rv, present := raw[spec.raw]
		if !present && spec.raw != "name" && spec.raw != "version" {
			continue
		}
		if declared >= 0 && present && versionIndex(spec.added) > declared {
			errs.add(spec.email, "%s introduced in metadata version %s, not %s", spec.email, spec.added, m.MetadataVersion)
			continue
		}
		processField(spec, rv, present, m, errs)
	}
}

func invalidFor(v, email string) string {
	return fmt.Sprintf("%s is invalid for %s", pyfmt.Repr(v), pyfmt.Repr(email))
}

func processField(spec fieldSpec, rv rawValue, present bool, m *Metadata, errs *metaErrs) {
	e := spec.email
	switch spec.raw {
	case "name":
		switch {
		case !present || rv.str == "":
			errs.add(e, "'name' is a required field")
		case !pyname.ValidNameDollar(rv.str):
			errs.add(e, "%s", invalidFor(rv.str, e))
		default:
			m.Name = rv.str
		}
	case "version":
		if !present || rv.str == "" {
			errs.add(e, "'version' is a required field")
			return
		}
		v, err := pep440.Parse(rv.str)
		if err != nil {
			errs.add(e, "%s", invalidFor(rv.str, e))
			return
		}
		m.Version = v
	case "summary":
		if strings.Contains(rv.str, "\n") {
			errs.add(e, "'summary' must be a single line")
			return
		}
		m.Summary = strPtr(rv.str)
	case "description":
		m.Description = strPtr(rv.str)
	case "description_content_type":
		if msg := checkContentType(rv.str); msg != "" {
			errs.add(e, "%s", msg)
			return
		}
		m.DescriptionContentType = strPtr(rv.str)
	case "author":
		m.Author = strPtr(rv.str)
	case "author_email":
		m.AuthorEmail = strPtr(rv.str)
	case "maintainer":
		m.Maintainer = strPtr(rv.str)
	case "maintainer_email":
		m.MaintainerEmail = strPtr(rv.str)
	case "license":
		m.License = strPtr(rv.str)
	case "license_expression":
		norm, ok := canonicalizeLicenseExpression(rv.str)
		if !ok {
			errs.add(e, "%s", invalidFor(rv.str, e))
			return
		}
		m.LicenseExpression = strPtr(norm)
	case "home_page":
		m.HomePage = strPtr(rv.str)
	case "download_url":
		m.DownloadURL = strPtr(rv.str)
	case "keywords":
		m.Keywords = rv.list
	case "classifiers":
		m.Classifiers = rv.list
	case "platforms":
		m.Platforms = rv.list
	case "supported_platforms":
		m.SupportedPlatforms = rv.list
	case "requires_external":
		m.RequiresExternal = rv.list
	case "provides_dist":
		m.ProvidesDist = rv.list
	case "obsoletes_dist":
		m.ObsoletesDist = rv.list
	case "requires":
		m.Requires = rv.list
	case "provides":
		m.Provides = rv.list
	case "obsoletes":
		m.Obsoletes = rv.list
	case "project_urls":
		m.ProjectURLs = rv.urls
	case "dynamic":
		var out []string
		for _, d := range rv.list {
			d = strings.ToLower(d)
			switch {
			case d == "name" || d == "version" || d == "metadata-version":
				errs.add(e, "%s is not allowed as a dynamic field", pyfmt.Repr(d))
				return
			case !emailFieldNames[d]:
				errs.add(e, "%s is not a valid dynamic field", pyfmt.Repr(d))
				return
			}
			out = append(out, d)
		}
		m.Dynamic = out
	case "provides_extra":
		var out []string
		for _, x := range rv.list {
			if !pyname.ValidNameDollar(x) {
				errs.add(e, "%s", invalidFor(x, e))
				return
			}
			out = append(out, pyname.Normalize(x))
		}
		m.ProvidesExtra = out
	case "requires_python":
		set, err := pep440.ParseSpecifierSet(rv.str)
		if err != nil {
			errs.add(e, "%s", invalidFor(rv.str, e))
			return
		}
		m.RequiresPython = &set
	case "requires_dist":
		var out []*pep508.Requirement
		for _, s := range rv.list {
			r, err := pep508.Parse(s)
			if err != nil {
				errs.add(e, "%s", invalidFor(s, e))
				return
			}
			out = append(out, r)
		}
		m.RequiresDist = out
	case "license_files":
		for _, p := range rv.list {
			if msg := checkLicenseFilePath(p); msg != "" {
				errs.add(e, "%s is invalid for 'license-file', %s", pyfmt.Repr(p), msg)
				return
			}
		}
		m.LicenseFiles = rv.list
	case "import_names", "import_namespaces":
		for _, s := range rv.list {
			if msg := checkImportName(s, e); msg != "" {
				errs.add(e, "%s", msg)
				return
			}
		}
		if spec.raw == "import_names" {
			m.ImportNames = rv.list
		} else {
			m.ImportNamespaces = rv.list
		}
	}
}

// checkContentType is packaging's _process_description_content_type. The
// lists in the messages are Python set reprs, whose order depends on the
// interpreter's string hashing; this uses the source order.
func checkContentType(value string) string {
	ctype, params := parseContentType(value)
	if (ctype != "text/plain" && ctype != "text/x-rst" && ctype != "text/markdown") ||
		!strings.Contains(strings.ToLower(value), ctype) {
		return fmt.Sprintf("'description-content-type' must be one of ['text/plain', 'text/x-rst', 'text/markdown'], not %s", pyfmt.Repr(value))
	}
	if cs, ok := params["charset"]; ok && cs != "UTF-8" {
		// packaging formats list(charset): the charset's characters.
		chars := make([]string, 0, len(cs))
		for _, r := range cs {
			chars = append(chars, string(r))
		}
		return fmt.Sprintf("'description-content-type' can only specify the UTF-8 charset, not %s", pyfmt.ReprList(chars))
	}
	if v, ok := params["variant"]; ok && ctype == "text/markdown" && v != "GFM" && v != "CommonMark" {
		return fmt.Sprintf("valid Markdown variants for 'description-content-type' are ['GFM', 'CommonMark'], not %s", pyfmt.Repr(v))
	}
	return ""
}

// parseContentType approximates email.message.EmailMessage's Content-Type
// handling: "type/subtype" lowercased (text/plain when malformed) and
// ";"-separated key=value parameters with optional quotes; parameter names
// are lowercased, values kept.
func parseContentType(value string) (string, map[string]string) {
	parts := strings.Split(value, ";")
	ctype := strings.ToLower(strings.TrimSpace(parts[0]))
	if mt, st, ok := strings.Cut(ctype, "/"); !ok || mt == "" || st == "" || strings.ContainsAny(ctype, " \t") {
		ctype = "text/plain"
	}
	params := map[string]string{}
	for _, p := range parts[1:] {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		v = strings.TrimSpace(v)
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		params[k] = v
	}
	return ctype, params
}

// checkLicenseFilePath is packaging's _process_license_files: the reason
// suffix of the message, or "".
func checkLicenseFilePath(p string) string {
	switch {
	case strings.Contains(p, ".."):
		return "parent directory indicators are not allowed"
	case strings.Contains(p, "*"):
		return "paths must be resolved"
	case strings.HasPrefix(p, "/") || isWindowsAbs(p):
		return "paths must be relative"
	case strings.Contains(p, `\`):
		return "paths must use '/' delimiter"
	}
	return ""
}

// isWindowsAbs is PureWindowsPath(p).is_absolute(): a drive and a root
// ("C:\x", "C:/x") or a UNC share ("\\server\share").
func isWindowsAbs(p string) bool {
	if len(p) >= 3 && p[1] == ':' && (p[2] == '\\' || p[2] == '/') {
		c := p[0]
		return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
	}
	if strings.HasPrefix(p, `\\`) || strings.HasPrefix(p, `//`) {
		rest := strings.TrimLeft(p, `\/`)
		server, share, ok := strings.Cut(strings.ReplaceAll(rest, `\`, "/"), "/")
		return ok && server != "" && share != ""
	}
	return false
}

// pythonKeywords is keyword.kwlist.
var pythonKeywords = map[string]bool{
	"False": true, "None": true, "True": true, "and": true, "as": true, "assert": true,
	"async": true, "await": true, "break": true, "class": true, "continue": true, "def": true,
	"del": true, "elif": true, "else": true, "except": true, "finally": true, "for": true,
	"from": true, "global": true, "if": true, "import": true, "in": true, "is": true,
	"lambda": true, "nonlocal": true, "not": true, "or": true, "pass": true, "raise": true,
	"return": true, "try": true, "while": true, "with": true, "yield": true,
}

// isIdentifier approximates str.isidentifier() (XID_Start/XID_Continue)
// with Unicode letters, digits, marks and '_'.
func isIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		letter := r == '_' || isUnicodeLetter(r)
		if i == 0 && !letter {
			return false
		}
		if !letter && !isUnicodeDigitOrMark(r) {
			return false
		}
	}
	return true
}

// checkImportName is packaging's _process_import_names (PEP 794).
func checkImportName(value, email string) string {
	name, rest, semicolon := strings.Cut(value, ";")
	name = strings.TrimRightFunc(name, pep440.IsPySpace)
	for _, ident := range strings.Split(name, ".") {
		if !isIdentifier(ident) {
			return fmt.Sprintf("%s is invalid for %s; %s is not a valid identifier", pyfmt.Repr(name), pyfmt.Repr(email), pyfmt.Repr(ident))
		}
		if pythonKeywords[ident] {
			return fmt.Sprintf("%s is invalid for %s; %s is a keyword", pyfmt.Repr(name), pyfmt.Repr(email), pyfmt.Repr(ident))
		}
	}
	if semicolon && strings.TrimLeftFunc(rest, pep440.IsPySpace) != "private" {
		return fmt.Sprintf("%s is invalid for %s; the only valid option is 'private'", pyfmt.Repr(value), pyfmt.Repr(email))
	}
	return ""
}

// validateWarehouse is warehouse/forklift/metadata.py _validate_metadata,
// run only when packaging's validation passed.
func validateWarehouse(m *Metadata, errs *metaErrs) {
	if m.Version.HasLocal() {
		errs.add("version", "The use of local versions in '%s' is not allowed.", m.Version.String())
	}
	// Python len() counts code points.
	if m.Summary != nil && utf8.RuneCountInString(*m.Summary) > 512 {
		errs.add("summary", "'summary' field must be 512 characters or less.")
	}
	for _, fe := range []struct {
		email string
		v     *string
	}{{"author-email", m.AuthorEmail}, {"maintainer-email", m.MaintainerEmail}} {
		if fe.v == nil {
			continue
		}
		if addr := parseAddr(*fe.v); addr != "" {
			if reason := validateEmail(addr); reason != "" {
				errs.add(fe.email, "%s is not a valid email address: %s", pyfmt.Repr(addr), reason)
			}
		}
	}
	// Classifiers: unknown ones first, then deprecated ones, each sorted
	// and deduplicated (set arithmetic in Warehouse).
	var unknown, deprecated []string
	seen := map[string]bool{}
	for _, c := range m.Classifiers {
		if seen[c] {
			continue
		}
		seen[c] = true
		if _, dep := deprecatedClassifiers()[c]; dep {
			deprecated = append(deprecated, c)
		} else if !validClassifiers()[c] {
			unknown = append(unknown, c)
		}
	}
	sort.Strings(unknown)
	sort.Strings(deprecated)
	for _, c := range unknown {
		errs.add("classifier", "%s is not a valid classifier.", pyfmt.Repr(c))
	}
	for _, c := range deprecated {
		if by := deprecatedClassifiers()[c]; len(by) > 0 {
			errs.add("classifier", "The classifier %s has been deprecated, use one of %s instead.", pyfmt.Repr(c), pyfmt.ReprList(by))
		} else {
			errs.add("classifier", "The classifier %s has been deprecated.", pyfmt.Repr(c))
		}
	}
	if m.HomePage != nil && !IsValidURI(*m.HomePage) {
		errs.add("home-page", "%s is not a valid url.", pyfmt.Repr(*m.HomePage))
	}
	if m.DownloadURL != nil && !IsValidURI(*m.DownloadURL) {
		errs.add("download-url", "%s is not a valid url.", pyfmt.Repr(*m.DownloadURL))
	}
	for _, pu := range m.ProjectURLs {
		switch {
		case pu.Label == "":
			errs.add("project-url", "Must have a label")
		case utf8.RuneCountInString(pu.Label) > 32:
			errs.add("project-url", "%s must be 32 characters or less.", pyfmt.Repr(pu.Label))
		case pu.URL == "":
			errs.add("project-url", "Must have a URL")
		case !IsValidURI(pu.URL):
			errs.add("project-url", "%s is not a valid url", pyfmt.Repr(pu.URL))
		}
	}
	for _, fe := range []struct {
		email string
		vals  []string
	}{{"provides-dist", m.ProvidesDist}, {"obsoletes-dist", m.ObsoletesDist}} {
		for _, s := range fe.vals {
			r, err := pep508.Parse(s)
			if err != nil {
				errs.add(fe.email, "%s is invalid: %s", pyfmt.Repr(s), err.Error())
				continue
			}
			if r.URL != "" {
				errs.add(fe.email, "Can't have direct dependency: %s", pyfmt.Repr(s))
			}
		}
	}
	for _, r := range m.RequiresDist {
		if r.URL != "" {
			errs.add("requires-dist", "Can't have direct dependency: %s", r.String())
		}
	}
	for _, d := range m.Dynamic {
		if !dynamicAllowed[d] {
			errs.add("dynamic", "Dynamic field %s is not a valid dynamic field.", pyfmt.Repr(d))
		}
	}
	if m.License != nil && *m.License != "" && m.LicenseExpression != nil && *m.LicenseExpression != "" {
		errs.add("license", "License is deprecated when License-Expression is present. Only License-Expression should be present.")
	}
}
