package forklift

import (
	"strings"
	"unicode"

	"github.com/fakepypi/fakepypi/internal/forklift/pyname"
)

// Release holds the release fields Warehouse stores from the first file of
// a version (warehouse/forklift/legacy.py), in the forms the read APIs serve them. Nil
// pointers are absent values (JSON null).
type Release struct {
	Name             string // metadata name as sent (display name)
	NormalizedName   string // PEP 503
	Version          string // str(Version(v)), e.g. "1.0a1"
	CanonicalVersion string // canonicalize_version, the release lookup key
	MetadataVersion  string

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
	Keywords               *string // stripped, empties dropped, joined with ", "
	Platform               *string // first Platform value only
	RequiresPython         *string // str(SpecifierSet): deduplicated, sorted, ","-joined

	Classifiers      []string
	RequiresDist     []string // str(Requirement) each
	ProvidesDist     []string
	ObsoletesDist    []string
	RequiresExternal []string
	Requires         []string
	Provides         []string
	Obsoletes        []string
	ProvidesExtra    []string // normalized
	Dynamic          []string // title-cased, e.g. "Requires-Dist"
	LicenseFiles     []string
	ProjectURLs      []ProjectURL
}

// NormalizeRelease derives the stored release fields from validated
// metadata.
func NormalizeRelease(m *Metadata) *Release {
	r := &Release{
		Name:                   m.Name,
		NormalizedName:         pyname.Normalize(m.Name),
		Version:                m.Version.String(),
		CanonicalVersion:       m.Version.Canonical(),
		MetadataVersion:        m.MetadataVersion,
		Summary:                m.Summary,
		Description:            m.Description,
		DescriptionContentType: m.DescriptionContentType,
		Author:                 m.Author,
		AuthorEmail:            m.AuthorEmail,
		Maintainer:             m.Maintainer,
		MaintainerEmail:        m.MaintainerEmail,
		License:                m.License,
		LicenseExpression:      m.LicenseExpression,
		HomePage:               m.HomePage,
		DownloadURL:            m.DownloadURL,
		Classifiers:            m.Classifiers,
		ProvidesDist:           m.ProvidesDist,
		ObsoletesDist:          m.ObsoletesDist,
		RequiresExternal:       m.RequiresExternal,
		Requires:               m.Requires,
		Provides:               m.Provides,
		Obsoletes:              m.Obsoletes,
		ProvidesExtra:          m.ProvidesExtra,
		LicenseFiles:           m.LicenseFiles,
		ProjectURLs:            m.ProjectURLs,
	}
	// warehouse/utils/release.py strip_keywords, joined as the JSON API
	// shows them.
	var kws []string
	for _, k := range m.Keywords {
		if k = strings.TrimSpace(k); k != "" {
			kws = append(kws, k)
		}
	}
	if len(kws) > 0 {
		s := strings.Join(kws, ", ")
		r.Keywords = &s
	}
	if len(m.Platforms) > 0 {
		p := m.Platforms[0]
		r.Platform = &p
	}
	if m.RequiresPython != nil {
		s := m.RequiresPython.String()
		r.RequiresPython = &s
	}
	for _, req := range m.RequiresDist {
		r.RequiresDist = append(r.RequiresDist, req.String())
	}
	for _, d := range m.Dynamic {
		r.Dynamic = append(r.Dynamic, pyTitle(d))
	}
	return r
}

// pyTitle is Python's str.title(): the first letter of every run of
// letters is uppercased and the rest lowercased.
func pyTitle(s string) string {
	var b strings.Builder
	prevLetter := false
	for _, r := range s {
		if unicode.IsLetter(r) {
			if prevLetter {
				b.WriteRune(unicode.ToLower(r))
			} else {
				b.WriteRune(unicode.ToUpper(r))
			}
			prevLetter = true
		} else {
			b.WriteRune(r)
			prevLetter = false
		}
	}
	return b.String()
}

// CheckNewProjectName is step 9d for a project that does not exist yet:
// the name rules of pyname.CheckProjectName as an upload *Error. The
// handler checks the disallow-new-project-registration flag (403 "New
// project registration temporarily disabled. See
// https://pypi.org/help/#admin-intervention for more information.") and
// the creation rate limit before calling this.
func CheckNewProjectName(name string, reg pyname.Registry) *Error {
	if rej := pyname.CheckProjectName(name, reg); rej != nil {
		return &Error{Status: rej.Status, Message: rej.Message}
	}
	return nil
}
