package readapi

import (
	"bufio"
	"net/http"
	"sort"
	"strconv"

	"github.com/fakepypi/fakepypi/internal/catalog"
	"github.com/fakepypi/fakepypi/internal/forklift/pyname"
	"github.com/fakepypi/fakepypi/internal/pyfmt"
	"github.com/gorilla/mux"
)

// simpleHeaders are the headers every simple API answer carries (warehouse/api/simple.py):
// the chosen media type, Vary: Accept (add_vary), Cache-Control from
// cache_control(10 minutes), and CORS.
func simpleHeaders(w http.ResponseWriter, ctype string) {
	hd := w.Header()
	// WebOb appends its default charset to text/* types it sends.
	if ctype == MIMETextHTML {
		ctype += "; charset=UTF-8"
	}
	hd.Set("Content-Type", ctype)
	hd.Set("Vary", "Accept")
	hd.Set("Cache-Control", "max-age=600, public")
	corsHeaders(hd)
}

// selectSimpleType is warehouse/api/simple.py _select_content_type: the
// first acceptable offer, text/html when nothing is acceptable (no 406).
func selectSimpleType(r *http.Request) string {
	if offers := acceptableOffers(r, simpleOffers); len(offers) > 0 {
		return offers[0]
	}
	return MIMETextHTML
}

// SimpleIndex serves GET /simple/.
func (h *Handler) SimpleIndex(w http.ResponseWriter, r *http.Request) {
	ctype := selectSimpleType(r)
	serial := h.cat.LastSerial()
	var projects []catalog.ProjectSummary
	for _, p := range h.cat.Projects() {
		// Quarantined projects are left out of the index (warehouse/api/simple.py).
		if p.Status != catalog.StatusQuarantined {
			projects = append(projects, p)
		}
	}
	simpleHeaders(w, ctype)
	lastSerial(w, serial)
	if ctype == MIMESimpleV1JSON {
		list := make([]obj, len(projects))
		for i, p := range projects {
			list[i] = obj{"name": p.Name, "_last-serial": p.LastSerial}
		}
		writeSimpleJSON(w, obj{"meta": obj{"api-version": APIVersion, "_last-serial": serial}, "projects": list})
		return
	}
	// templates/api/simple/index.html rendered with trim_blocks and
	// lstrip_blocks; Jinja drops the template's final newline.
	// Written through a buffer, not gathered: the page grows with the
	// index (and a detail page with the project's files).
	b := bufio.NewWriterSize(w, 32<<10)
	defer b.Flush()
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"" + APIVersion + "\">\n    <title>Simple index</title>\n  </head>\n  <body>\n")
	for _, p := range projects {
		b.WriteString("<a href=\"" + htmlEscape("/simple/"+pathEscape(pyname.Normalize(p.Name))+"/") + "\">" + htmlEscape(p.Name) + "</a>\n")
	}
	b.WriteString("</body>\n</html>")
}

// writeSimpleJSON uses Warehouse's json-with-newline renderer: sort_keys,
// separators (",", ":"), ensure_ascii=False, then "\n".
func writeSimpleJSON(w http.ResponseWriter, v any) {
	pyfmt.RendererNewline.Encode(w, v)
}

// simpleFile is one entry of the detail page, shared by HTML and JSON.
type simpleFile struct {
	f       catalog.File
	version string
	url     string
	yanked  any // false, true or the reason string
	prov    string
}

// SimpleDetail serves GET /simple/{name}/.
func (h *Handler) SimpleDetail(w http.ResponseWriter, r *http.Request) {
	name := mux.Vars(r)["name"]
	p, ok := h.project(name)
	if !ok {
		notFoundText(w)
		return
	}
	// "Make sure that we're using the normalized version of the URL."
	if p.NormalizedName != name {
		h.redirect(w, r, "/simple/"+pathEscape(p.NormalizedName)+"/")
		return
	}
	ctype := selectSimpleType(r)
	files := h.simpleFiles(r, &p)
	versions := []string{}
	seen := map[string]bool{}
	for _, f := range files {
		if !seen[f.version] {
			seen[f.version] = true
			versions = append(versions, f.version)
		}
	}
	simpleHeaders(w, ctype)
	lastSerial(w, p.LastSerial)
	status := p.StatusOrActive()
	if ctype == MIMESimpleV1JSON {
		// Objects with their keys in sort_keys order, not maps: a project
		// of 1,000 files would sort 1,000 maps' keys at every request.
		list := make([]pyfmt.Object, len(files))
		for i, sf := range files {
			core := any(false)
			if sf.f.HasMetadata() {
				core = pyfmt.Object{{Key: "sha256", Value: sf.f.MetadataSHA256}}
			}
			var rp, prov any
			if sf.f.RequiresPython != "" {
				rp = sf.f.RequiresPython
			}
			if sf.prov != "" {
				prov = sf.prov
			}
			list[i] = pyfmt.Object{
				{Key: "core-metadata", Value: core},
				{Key: "data-dist-info-metadata", Value: core},
				{Key: "filename", Value: sf.f.Filename},
				{Key: "hashes", Value: pyfmt.Object{{Key: "sha256", Value: sf.f.SHA256}}},
				{Key: "provenance", Value: prov},
				{Key: "requires-python", Value: rp},
				{Key: "size", Value: sf.f.Size},
				{Key: "upload-time", Value: pyISO(sf.f.UploadTime)},
				{Key: "url", Value: sf.url},
				{Key: "yanked", Value: sf.yanked},
			}
		}
		// warehouse/packaging/utils.py _simple_detail: no
		// "alternate-locations" since warehouse#19915 (2026-06-18) removed
		// PEP 708 support.
		writeSimpleJSON(w, obj{
			"meta":           obj{"api-version": APIVersion, "_last-serial": p.LastSerial},
			"name":           p.NormalizedName,
			"project-status": obj{"status": status},
			"versions":       versions,
			"files":          list,
		})
		return
	}
	// templates/api/simple/detail.html (frozen by PEP 833), rendered with
	// trim_blocks and lstrip_blocks and without the final newline; the
	// project-status <meta> shares its line with <title> (templates/api/simple/detail.html).
	b := bufio.NewWriterSize(w, 32<<10)
	defer b.Flush()
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"" + APIVersion + "\">\n")
	b.WriteString("<meta name=\"pypi:project-status\" content=\"" + htmlEscape(status) + "\">")
	b.WriteString("    <title>Links for " + htmlEscape(p.NormalizedName) + "</title>\n  </head>\n  <body>\n")
	b.WriteString("    <h1>Links for " + htmlEscape(p.NormalizedName) + "</h1>\n")
	for _, sf := range files {
		b.WriteString("<a href=\"" + htmlEscape(sf.url) + "#sha256=" + htmlEscape(sf.f.SHA256) + "\" ")
		if sf.f.RequiresPython != "" {
			b.WriteString("data-requires-python=\"" + htmlEscape(sf.f.RequiresPython) + "\" ")
		}
		switch y := sf.yanked.(type) {
		case string:
			b.WriteString("data-yanked=\"" + htmlEscape(y) + "\" ")
		case bool:
			if y {
				b.WriteString("data-yanked=\"\" ")
			}
		}
		if sf.f.HasMetadata() {
			m := htmlEscape(sf.f.MetadataSHA256)
			b.WriteString("data-dist-info-metadata=\"sha256=" + m + "\" data-core-metadata=\"sha256=" + m + "\"")
		}
		if sf.prov != "" {
			b.WriteString(" data-provenance=\"" + htmlEscape(sf.prov) + "\"")
		}
		b.WriteString(">" + htmlEscape(sf.f.Filename) + "</a><br />\n")
	}
	b.WriteString("</body>\n</html>\n<!--SERIAL " + strconv.FormatInt(p.LastSerial, 10) + "-->")
}

// simpleFiles lists a project's files sorted by (version, filename), as
// _simple_detail does with packaging_legacy.version.parse. A quarantined
// project lists nothing (Warehouse filters its files out).
func (h *Handler) simpleFiles(r *http.Request, p *catalog.Project) []simpleFile {
	if p.Status == catalog.StatusQuarantined {
		return nil
	}
	var out []simpleFile
	base := h.baseURL(r)
	for _, rel := range p.Releases {
		var yanked any = rel.Yanked
		if rel.Yanked && rel.YankedReason != "" {
			yanked = rel.YankedReason
		}
		for _, f := range rel.Files {
			sf := simpleFile{f: f, version: rel.Version, url: h.fileURL(r, f.Path), yanked: yanked}
			if len(f.Provenance) > 0 {
				// route_url("integrity.provenance", project_name=normalized,
				// release=version, filename=filename).
				sf.prov = base + "/integrity/" + pathEscape(p.NormalizedName) + "/" + pathEscape(rel.Version) + "/" + pathEscape(f.Filename) + "/provenance"
			}
			out = append(out, sf)
		}
	}
	// Order the distinct versions once, then the files by (rank,
	// filename): a project has far fewer versions than comparisons.
	rank := h.versionRanks(p)
	sort.SliceStable(out, func(i, j int) bool {
		if ri, rj := rank[out[i].version], rank[out[j].version]; ri != rj {
			return ri < rj
		}
		return out[i].f.Filename < out[j].f.Filename
	})
	return out
}

// versionRanks numbers p's release versions in ascending PEP 440 order
// (equal versions share a rank).
func (h *Handler) versionRanks(p *catalog.Project) map[string]int {
	vs := make([]string, 0, len(p.Releases))
	for _, rel := range p.Releases {
		vs = append(vs, rel.Version)
	}
	sort.SliceStable(vs, func(i, j int) bool { return h.versions.Compare(vs[i], vs[j]) < 0 })
	rank := make(map[string]int, len(vs))
	for i, v := range vs {
		if i > 0 && h.versions.Compare(vs[i-1], v) == 0 {
			rank[v] = rank[vs[i-1]]
			continue
		}
		rank[v] = i
	}
	return rank
}
