package pages

import (
	"html/template"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/fakepypi/fakepypi/internal/catalog"
	"github.com/fakepypi/fakepypi/internal/events"
	"github.com/fakepypi/fakepypi/internal/forklift/pyname"
	"github.com/fakepypi/fakepypi/internal/indexconfig"
	"github.com/fakepypi/fakepypi/internal/publisher"
	"github.com/fakepypi/fakepypi/internal/trust"
)

// Versions is the PEP 440 knowledge the pages need (the index passes
// its real implementation, as it does to the read APIs).
type Versions interface {
	Canonical(v string) string
	Compare(a, b string) int
	IsPrerelease(v string) bool
}

// Site serves one fake index's pages. The index builds it from its own
// stores; nothing here changes them except through the debugger's calls
// to the control plane, which go through HTTP like any script's.
type Site struct {
	// Name is the brand: "PyPI", or "TestPyPI" for the test index.
	Name       string
	Catalog    *catalog.Catalog
	Publishers *publisher.Store
	Events     *events.Log
	Exchange   *trust.Exchange
	Versions   Versions
	// FileURL is where a distribution file is downloaded from, as the
	// JSON API links it for this request (files.pythonhosted.org through
	// the proxy, the index itself on 127.0.0.1).
	FileURL func(r *http.Request, path string) string
	// Snapshot is the index's live state in its configuration file's
	// shape, for the scenarios the dashboard downloads.
	Snapshot func() indexconfig.File
	// Landing says what is running, for the landing page; nil shows the
	// index alone.
	Landing func(r *http.Request) Landing
	// InForce lists what is bending the index's answers now (faults,
	// admin flags, a moved clock), for the dashboard; nil shows nothing.
	InForce func() []string
	// Now is the index's clock (for the debugger's expiry checks and the
	// dashboard's "now").
	Now func() time.Time
}

func (s *Site) chrome(title string) Chrome { return Chrome{Site: s.Name, Title: title} }

func (s *Site) harnessChrome(title string) Chrome {
	return Chrome{Site: "fakepypi", Title: title, Harness: true}
}

// notFound is PyPI's 404 for a page that does not exist.
func (s *Site) notFound(w http.ResponseWriter, what string) {
	render(w, http.StatusNotFound, "notfound.html", s.chrome("Page Not Found (404)"), what)
}

// releaseView is one release as the project page shows it.
type releaseView struct {
	Version    string
	Yanked     bool
	Reason     string
	Prerelease bool
	Created    time.Time
	Current    bool
	Files      int
}

type fileView struct {
	catalog.File
	URL string
}

type projectView struct {
	Project     catalog.Project
	Release     catalog.Release
	Latest      string
	Prerelease  bool
	Description template.HTML
	Releases    []releaseView
	Sdists      []fileView
	Bdists      []fileView
	License     string
	URLs        []catalog.ProjectURL
	Maintainers []string
	Pip         string
	Publishers  int
	TestPyPI    bool
}

// ProjectPage serves GET /project/{name}/ (packaging.project): the
// newest release that is not yanked and not a pre-release, or 404 when
// there is no release. A name that is not the project's own spelling is
// redirected to it (warehouse/packaging/views.py project_detail).
func (s *Site) ProjectPage(w http.ResponseWriter, r *http.Request) {
	name := mux.Vars(r)["name"]
	p, ok := s.Catalog.Project(pyname.Normalize(name))
	if !ok || len(p.Releases) == 0 {
		s.notFound(w, "project "+name)
		return
	}
	if p.Name != name {
		redirect(w, r, "/project/"+pathEscape(p.Name)+"/")
		return
	}
	s.releasePage(w, r, &p, s.latest(&p), false)
}

// ReleasePage serves GET /project/{name}/{version}/ (packaging.release):
// the version is matched canonically, and a version or name spelled
// otherwise is redirected to the release's own, in one redirect
// (release_detail).
func (s *Site) ReleasePage(w http.ResponseWriter, r *http.Request) {
	vars := mux.Vars(r)
	name, version := vars["name"], vars["version"]
	p, ok := s.Catalog.Project(pyname.Normalize(name))
	if !ok {
		s.notFound(w, "project "+name)
		return
	}
	rel, ok := s.findRelease(&p, version)
	if !ok {
		s.notFound(w, "release "+version+" of "+p.Name)
		return
	}
	if rel.Version != version || p.Name != name {
		redirect(w, r, "/project/"+pathEscape(p.Name)+"/"+pathEscape(rel.Version)+"/")
		return
	}
	s.releasePage(w, r, &p, rel, true)
}

// findRelease is Project.__getitem__: by canonical version, else by the
// exact string.
func (s *Site) findRelease(p *catalog.Project, version string) (*catalog.Release, bool) {
	canon := s.Versions.Canonical(version)
	for i := range p.Releases {
		if p.Releases[i].CanonicalVersion == canon {
			return &p.Releases[i], true
		}
	}
	for i := range p.Releases {
		if p.Releases[i].Version == version {
			return &p.Releases[i], true
		}
	}
	return nil, false
}

// latest orders as project_detail does: not yanked first, then final
// releases before pre-releases, then the highest version.
func (s *Site) latest(p *catalog.Project) *catalog.Release {
	rels := s.ordered(p)
	sort.SliceStable(rels, func(i, j int) bool {
		a, b := rels[i], rels[j]
		if a.Yanked != b.Yanked {
			return !a.Yanked
		}
		if pa, pb := s.Versions.IsPrerelease(a.Version), s.Versions.IsPrerelease(b.Version); pa != pb {
			return !pa
		}
		return false
	})
	return rels[0]
}

// ordered lists releases newest version first (project.all_versions).
func (s *Site) ordered(p *catalog.Project) []*catalog.Release {
	rels := make([]*catalog.Release, len(p.Releases))
	for i := range p.Releases {
		rels[i] = &p.Releases[i]
	}
	sort.SliceStable(rels, func(i, j int) bool { return s.Versions.Compare(rels[i].Version, rels[j].Version) > 0 })
	return rels
}

func (s *Site) releasePage(w http.ResponseWriter, r *http.Request, p *catalog.Project, rel *catalog.Release, pinned bool) {
	v := projectView{Project: *p, Release: *rel, Prerelease: s.Versions.IsPrerelease(rel.Version), TestPyPI: s.Name == "TestPyPI"}
	v.Latest = s.latest(p).Version
	v.Description = RenderDescription(rel.Metadata.Description, rel.Metadata.DescriptionContentType)
	for _, hr := range s.ordered(p) {
		v.Releases = append(v.Releases, releaseView{Version: hr.Version, Yanked: hr.Yanked, Reason: hr.YankedReason,
			Prerelease: s.Versions.IsPrerelease(hr.Version), Created: hr.Created, Current: hr.Version == rel.Version, Files: len(hr.Files)})
	}
	for _, f := range rel.Files {
		fv := fileView{File: f, URL: s.FileURL(r, f.Path)}
		if f.PackageType == "sdist" {
			v.Sdists = append(v.Sdists, fv)
		} else {
			v.Bdists = append(v.Bdists, fv)
		}
	}
	// PyPI natsorts each group by filename, descending.
	for _, l := range [][]fileView{v.Sdists, v.Bdists} {
		sort.SliceStable(l, func(i, j int) bool { return l[i].Filename > l[j].Filename })
	}
	v.License = licenseText(rel.Metadata)
	m := rel.Metadata
	if m.HomePage != "" {
		v.URLs = append(v.URLs, catalog.ProjectURL{Label: "Homepage", URL: m.HomePage})
	}
	if m.DownloadURL != "" {
		v.URLs = append(v.URLs, catalog.ProjectURL{Label: "Download", URL: m.DownloadURL})
	}
	v.URLs = append(v.URLs, m.ProjectURLs...)
	seen := map[string]bool{}
	for _, ro := range p.Roles {
		if !seen[ro.User] {
			seen[ro.User] = true
			v.Maintainers = append(v.Maintainers, ro.User)
		}
	}
	sort.Strings(v.Maintainers)
	v.Pip = pipCommand(p.Name, rel.Version, pinned, v.TestPyPI)
	for _, pub := range s.Publishers.List(false) {
		for _, n := range pub.Projects {
			if pyname.Normalize(n) == p.NormalizedName {
				v.Publishers++
			}
		}
	}
	render(w, http.StatusOK, "project.html", s.chrome(p.Name), v)
}

// pipCommand is project-header.html's pip_command macro.
func pipCommand(name, version string, pinned, test bool) string {
	cmd := "pip install "
	if test {
		cmd += "-i https://test.pypi.org/simple/ "
	}
	arg := name
	if pinned {
		arg += "==" + version
	}
	if strings.Contains(version, "!") {
		arg = "'" + arg + "'"
	}
	return cmd + arg
}

// licenseText is release_detail's license: the License :: classifiers'
// last parts, then the first line of License (cut at 100 characters),
// combined as "classifiers (short license)".
func licenseText(m catalog.Metadata) string {
	var cls []string
	for _, c := range m.Classifiers {
		if strings.HasPrefix(c, "License") {
			parts := strings.Split(c, " :: ")
			cls = append(cls, parts[len(parts)-1])
		}
	}
	short, _, _ := strings.Cut(m.License, "\n")
	if short != "" && len(short) > 100 && short == m.License {
		short = short[:100] + "..."
	}
	switch {
	case len(cls) > 0 && short != "":
		return strings.Join(cls, ", ") + " (" + short + ")"
	case len(cls) > 0:
		return strings.Join(cls, ", ")
	}
	return short
}

// PublishingPage serves the stand-in for
// /manage/project/{name}/settings/publishing/: the project's trusted
// publishers as PyPI's "Trusted Publisher Management" page lists them,
// and the pending publishers that name it. PyPI asks for a login
// first; the harness has no accounts to log into, so it shows the page.
func (s *Site) PublishingPage(w http.ResponseWriter, r *http.Request) {
	name := mux.Vars(r)["name"]
	p, ok := s.Catalog.Project(pyname.Normalize(name))
	if !ok {
		s.notFound(w, "project "+name)
		return
	}
	if p.Name != name {
		redirect(w, r, "/manage/project/"+pathEscape(p.Name)+"/settings/publishing/")
		return
	}
	var v struct {
		Project    catalog.Project
		Publishers []publisher.Publisher
		Pending    []publisher.Publisher
		Site       string
	}
	v.Project, v.Site = p, s.Name
	for _, pub := range s.Publishers.List(false) {
		for _, n := range pub.Projects {
			if pyname.Normalize(n) == p.NormalizedName {
				v.Publishers = append(v.Publishers, pub)
				break
			}
		}
	}
	for _, pub := range s.Publishers.List(true) {
		if pyname.Normalize(pub.ProjectName) == p.NormalizedName {
			v.Pending = append(v.Pending, pub)
		}
	}
	render(w, http.StatusOK, "publishing.html", s.chrome("Trusted Publisher Management"), v)
}

// AccountPublishingPage serves the stand-in for /manage/account/publishing/,
// where PyPI lists the pending publishers a user registered: here, all
// of them, by the user who added each.
func (s *Site) AccountPublishingPage(w http.ResponseWriter, r *http.Request) {
	var v struct {
		Pending []publisher.Publisher
		Site    string
	}
	v.Pending, v.Site = s.Publishers.List(true), s.Name
	render(w, http.StatusOK, "account-publishing.html", s.chrome("Trusted Publisher Management"), v)
}
