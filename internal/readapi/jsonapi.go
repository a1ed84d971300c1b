package readapi

import (
	"net/http"
	"sort"
	"strings"

	"github.com/fakepypi/fakepypi/internal/catalog"
	"github.com/fakepypi/fakepypi/internal/pyfmt"
	"github.com/gorilla/mux"
)

// jsonNotFound is the JSON API's 404 (warehouse/legacy/api/json.py): application/json
// {"message": "Not Found"} with CORS headers.
func jsonNotFound(w http.ResponseWriter) {
	corsHeaders(w.Header())
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusNotFound)
	w.Write([]byte(`{"message": "Not Found"}`))
}

// jsonAPIHeaders: cache_control(15 minutes), CORS, the project's serial.
func jsonAPIHeaders(w http.ResponseWriter, serial int64) {
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Cache-Control", "max-age=900, public")
	corsHeaders(hd)
	lastSerial(w, serial)
}

// ProjectJSON serves GET /pypi/{name}/json (and .../json/): the latest
// release's info and files plus every release (warehouse/legacy/api/json.py).
func (h *Handler) ProjectJSON(w http.ResponseWriter, r *http.Request) {
	name := mux.Vars(r)["name"]
	p, ok := h.project(name)
	if !ok || p.Status == catalog.StatusQuarantined || len(p.Releases) == 0 {
		jsonNotFound(w)
		return
	}
	if p.NormalizedName != name {
		h.redirect(w, r, h.renamed(r, name, p.NormalizedName))
		return
	}
	rel := h.latest(&p)
	body := h.releaseDoc(r, &p, rel)
	releases := obj{}
	for _, rr := range p.Releases {
		releases[rr.Version] = h.fileDocs(r, &rr)
	}
	body["releases"] = releases
	jsonAPIHeaders(w, p.LastSerial)
	pyfmt.RendererNewline.Encode(w, body)
}

// ReleaseJSON serves GET /pypi/{name}/{version}/json (and .../json/). The
// version is matched canonically.
func (h *Handler) ReleaseJSON(w http.ResponseWriter, r *http.Request) {
	vars := mux.Vars(r)
	name := vars["name"]
	p, ok := h.project(name)
	if !ok || p.Status == catalog.StatusQuarantined {
		jsonNotFound(w)
		return
	}
	rel, ok := p.Release(h.versions.Canonical(vars["version"]))
	if !ok {
		jsonNotFound(w)
		return
	}
	if p.NormalizedName != name {
		h.redirect(w, r, h.renamed(r, name, p.NormalizedName))
		return
	}
	jsonAPIHeaders(w, p.LastSerial)
	pyfmt.RendererNewline.Encode(w, h.releaseDoc(r, &p, &rel))
}

// renamed is current_route_path(name=normalized): the request path with the
// {name} segment replaced.
func (h *Handler) renamed(r *http.Request, name, normalized string) string {
	return strings.Replace(r.URL.EscapedPath(), "/pypi/"+pathEscape(name)+"/", "/pypi/"+pathEscape(normalized)+"/", 1)
}

// latest picks the JSON API's "latest" release: not yanked first, then
// non-prereleases first, then the highest version (warehouse/legacy/api/json.py);
// among equals, the first created. One pass, each release's prerelease
// test made once.
func (h *Handler) latest(p *catalog.Project) *catalog.Release {
	best := &p.Releases[0]
	bestPre := h.versions.IsPrerelease(best.Version)
	for i := 1; i < len(p.Releases); i++ {
		r := &p.Releases[i]
		pre := h.versions.IsPrerelease(r.Version)
		better := false
		switch {
		case r.Yanked != best.Yanked:
			better = !r.Yanked
		case pre != bestPre:
			better = !pre
		default:
			better = h.versions.Compare(r.Version, best.Version) > 0
		}
		if better {
			best, bestPre = r, pre
		}
	}
	return best
}

// nullable maps Warehouse's None (an empty value here) to JSON null.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullableList(l []string) any {
	if len(l) == 0 {
		return nil
	}
	return l
}

// releaseDoc builds the body shared by both JSON API routes.
func (h *Handler) releaseDoc(r *http.Request, p *catalog.Project, rel *catalog.Release) obj {
	m := rel.Metadata
	base := h.baseURL(r)
	projectURL := base + "/project/" + pathEscape(p.Name) + "/"
	var urls any
	if m.HomePage != "" || m.DownloadURL != "" || len(m.ProjectURLs) > 0 {
		u := obj{}
		if m.HomePage != "" {
			u["Homepage"] = m.HomePage
		}
		if m.DownloadURL != "" {
			u["Download"] = m.DownloadURL
		}
		for _, pu := range m.ProjectURLs {
			u[pu.Label] = pu.URL
		}
		urls = u
	}
	classifiers := m.Classifiers
	if classifiers == nil {
		classifiers = []string{}
	}
	info := obj{
		"author":                   nullable(m.Author),
		"author_email":             nullable(m.AuthorEmail),
		"bugtrack_url":             nil,
		"classifiers":              classifiers,
		"description":              m.Description,
		"description_content_type": nullable(m.DescriptionContentType),
		"docs_url":                 nil,
		"download_url":             nullable(m.DownloadURL),
		"downloads":                obj{"last_day": -1, "last_month": -1, "last_week": -1},
		"dynamic":                  nullableList(m.Dynamic),
		"home_page":                nullable(m.HomePage),
		"keywords":                 nullable(m.Keywords),
		"license":                  nullable(m.License),
		"license_expression":       nullable(m.LicenseExpression),
		"license_files":            nullableList(m.LicenseFiles),
		"maintainer":               nullable(m.Maintainer),
		"maintainer_email":         nullable(m.MaintainerEmail),
		"name":                     p.Name,
		"package_url":              projectURL,
		"platform":                 nullable(m.Platform),
		"project_url":              projectURL,
		"project_urls":             urls,
		"provides_extra":           nullableList(m.ProvidesExtra),
		"release_url":              projectURL + pathEscape(rel.Version) + "/",
		"requires_dist":            nullableList(m.RequiresDist),
		"requires_python":          nullable(m.RequiresPython),
		"summary":                  nullable(m.Summary),
		"version":                  rel.Version,
		"yanked":                   rel.Yanked,
		"yanked_reason":            nullable(rel.YankedReason),
	}
	// Owners first, then Maintainers, each by username.
	roles := append([]catalog.Role(nil), p.Roles...)
	sort.SliceStable(roles, func(i, j int) bool {
		if (roles[i].Role == "Owner") != (roles[j].Role == "Owner") {
			return roles[i].Role == "Owner"
		}
		return roles[i].User < roles[j].User
	})
	roleList := make([]obj, len(roles))
	for i, ro := range roles {
		roleList[i] = obj{"role": ro.Role, "user": ro.User}
	}
	return obj{
		"info":            info,
		"last_serial":     p.LastSerial,
		"ownership":       obj{"organization": nullable(p.Organization), "roles": roleList},
		"urls":            h.fileDocs(r, rel),
		"vulnerabilities": []obj{},
	}
}

// fileDocs renders a release's files (sorted by filename) in the JSON API's
// legacy shape. Each is an Object with its keys already in sort_keys
// order: at 1,000 releases a map per file, sorted at every request, was a
// good part of the JSON API's time.
func (h *Handler) fileDocs(r *http.Request, rel *catalog.Release) []pyfmt.Object {
	out := make([]pyfmt.Object, 0, len(rel.Files))
	yankedReason := nullable(rel.YankedReason)
	for _, f := range rel.Files {
		core := any(false)
		if f.HasMetadata() {
			core = pyfmt.Object{{Key: "sha256", Value: f.MetadataSHA256}}
		}
		out = append(out, pyfmt.Object{
			{Key: "comment_text", Value: nil},
			{Key: "core-metadata", Value: core},
			{Key: "digests", Value: pyfmt.Object{{Key: "blake2b_256", Value: f.Blake2256}, {Key: "md5", Value: f.MD5}, {Key: "sha256", Value: f.SHA256}}},
			{Key: "downloads", Value: -1},
			{Key: "filename", Value: f.Filename},
			{Key: "has_sig", Value: false},
			{Key: "md5_digest", Value: f.MD5},
			{Key: "packagetype", Value: f.PackageType},
			{Key: "python_version", Value: f.PythonVersion},
			{Key: "requires_python", Value: nullable(f.RequiresPython)},
			{Key: "size", Value: f.Size},
			{Key: "upload_time", Value: f.UploadTime.UTC().Format("2006-01-02T15:04:05")},
			{Key: "upload_time_iso_8601", Value: pyISO(f.UploadTime)},
			{Key: "url", Value: h.fileURL(r, f.Path)},
			{Key: "yanked", Value: rel.Yanked},
			{Key: "yanked_reason", Value: yankedReason},
		})
	}
	return out
}
