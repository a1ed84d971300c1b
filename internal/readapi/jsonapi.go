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
	w.Write(append(pyfmt.Style{Compact: true}.Dumps(body), '\n'))
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
	w.Write(append(pyfmt.Style{Compact: true}.Dumps(h.releaseDoc(r, &p, &rel)), '\n'))
}

// renamed is current_route_path(name=normalized): the request path with the
// {name} segment replaced.
func (h *Handler) renamed(r *http.Request, name, normalized string) string {
	return strings.Replace(r.URL.EscapedPath(), "/pypi/"+pathEscape(name)+"/", "/pypi/"+pathEscape(normalized)+"/", 1)
}

// latest picks the JSON API's "latest" release: not yanked first, then
// non-prereleases first, then the highest version (warehouse/legacy/api/json.py).
func (h *Handler) latest(p *catalog.Project) *catalog.Release {
	rels := make([]*catalog.Release, len(p.Releases))
	for i := range p.Releases {
		rels[i] = &p.Releases[i]
	}
	sort.SliceStable(rels, func(i, j int) bool {
		a, b := rels[i], rels[j]
		if a.Yanked != b.Yanked {
			return !a.Yanked
		}
		if pa, pb := h.versions.IsPrerelease(a.Version), h.versions.IsPrerelease(b.Version); pa != pb {
			return !pa
		}
		return h.versions.Compare(a.Version, b.Version) > 0
	})
	return rels[0]
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
// legacy shape.
func (h *Handler) fileDocs(r *http.Request, rel *catalog.Release) []obj {
	out := make([]obj, 0, len(rel.Files))
	for _, f := range rel.Files {
		core := any(false)
		if f.HasMetadata() {
			core = obj{"sha256": f.MetadataSHA256}
		}
		out = append(out, obj{
			"comment_text":         nil,
			"core-metadata":        core,
			"digests":              obj{"blake2b_256": f.Blake2256, "md5": f.MD5, "sha256": f.SHA256},
			"downloads":            -1,
			"filename":             f.Filename,
			"has_sig":              false,
			"md5_digest":           f.MD5,
			"packagetype":          f.PackageType,
			"python_version":       f.PythonVersion,
			"requires_python":      nullable(f.RequiresPython),
			"size":                 f.Size,
			"upload_time":          f.UploadTime.UTC().Format("2006-01-02T15:04:05"),
			"upload_time_iso_8601": pyISO(f.UploadTime),
			"url":                  h.fileURL(r, f.Path),
			"yanked":               rel.Yanked,
			"yanked_reason":        nullable(rel.YankedReason),
		})
	}
	return out
}
