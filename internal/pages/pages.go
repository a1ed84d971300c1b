// Package pages is fakepypi's HTML: the pages PyPI itself has (a project,
// a release, the trusted-publisher settings, /help/), and the harness's
// own pages under /_fake/ (a dashboard of every decision with its
// diagnosis, one page per event, the claims debugger), plus the landing
// pages of the index's and the issuer's direct listeners.
//
// Everything is server-rendered with html/template from templates
// embedded in the binary; the stylesheet is inlined in each page, so a
// page needs nothing from the network (no fonts, scripts or CDNs) and
// reads the same through the harness's proxy as on 127.0.0.1. The only
// scripts are small inline ones: the dashboard's live updates (short
// polling of an HTML fragment) and the debugger's writes to the control
// plane. Every page reads without JavaScript.
//
// Paths, titles and redirects of the PyPI pages follow Warehouse
// (warehouse/routes.py, warehouse/packaging/views.py, the templates
// under warehouse/templates/packaging/ and pages/help.html); their look
// is fakepypi's own.
package pages

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/mux"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/style.css
var styleCSS string

// base is the layout every page shares; pages define "title" and
// "content" (and optionally "head" and "script").
var (
	parseOnce sync.Once
	pageTmpls map[string]*template.Template
	parseErr  error
)

var funcs = template.FuncMap{
	"css":       func() template.CSS { return template.CSS(styleCSS) },
	"filesize":  FileSize,
	"when":      when,
	"iso":       func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"join":      strings.Join,
	"pathesc":   pathEscape,
	"add":       func(a, b int) int { return a + b },
	"lower":     strings.ToLower,
	"hasPrefix": strings.HasPrefix,
	"json":      jsonText,
}

func templates() (map[string]*template.Template, error) {
	parseOnce.Do(func() {
		pageTmpls = map[string]*template.Template{}
		base, err := template.New("base.html").Funcs(funcs).ParseFS(templateFS, "templates/base.html", "templates/parts.html")
		if err != nil {
			parseErr = err
			return
		}
		names, _ := fs.Glob(templateFS, "templates/*.html")
		for _, n := range names {
			short := strings.TrimPrefix(n, "templates/")
			if short == "base.html" || short == "parts.html" {
				continue
			}
			t, err := template.Must(base.Clone()).ParseFS(templateFS, n)
			if err != nil {
				parseErr = fmt.Errorf("%s: %w", n, err)
				return
			}
			pageTmpls[short] = t
		}
	})
	return pageTmpls, parseErr
}

// Chrome is what the layout needs besides the page's own data.
type Chrome struct {
	// Site is the brand in the top bar and the titles: "PyPI",
	// "TestPyPI", or "fakepypi" for the harness's own pages.
	Site string
	// Harness marks pages that are fakepypi's own (the top bar links
	// the dashboard and the debugger instead of PyPI's pages).
	Harness bool
	// Title is the page's own part of <title>.
	Title string
}

// page is the value every template executes with.
type page struct {
	Chrome
	Data any
}

// render executes template name with data into w; a template error is a
// 500 with the error in the server log, never half a page.
func render(w http.ResponseWriter, status int, name string, c Chrome, data any) {
	ts, err := templates()
	if err == nil && ts[name] == nil {
		err = fmt.Errorf("no template %s", name)
	}
	var buf bytes.Buffer
	if err == nil {
		err = ts[name].ExecuteTemplate(&buf, "base.html", page{Chrome: c, Data: data})
	}
	if err != nil {
		log.Printf("pages: %s: %v", name, err)
		http.Error(w, "fakepypi: page rendering failed: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// renderFragment executes one named template (no layout) into w.
func renderFragment(w http.ResponseWriter, file, name string, data any) {
	ts, err := templates()
	var buf bytes.Buffer
	if err == nil {
		err = ts[file].ExecuteTemplate(&buf, name, data)
	}
	if err != nil {
		log.Printf("pages: %s/%s: %v", file, name, err)
		http.Error(w, "fakepypi: fragment rendering failed: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
}

// FileSize is Jinja's filesizeformat (decimal units), which PyPI's file
// lists use: "1 Byte", "512 Bytes", "1.2 kB", "3.4 MB".
func FileSize(n int64) string {
	const base = 1000.0
	b := float64(n)
	switch {
	case n == 1:
		return "1 Byte"
	case b < base:
		return fmt.Sprintf("%d Bytes", n)
	}
	units := []string{"kB", "MB", "GB", "TB", "PB", "EB"}
	for i, u := range units {
		unit := base
		for j := 0; j < i+1; j++ {
			unit *= base
		}
		if b < unit || i == len(units)-1 {
			return fmt.Sprintf("%.1f %s", base*b/unit, u)
		}
	}
	return fmt.Sprintf("%d Bytes", n)
}

// when is a time as a person reads it, in UTC (the harness has no idea
// of the reader's zone and PyPI's localized-time script is not copied).
func when(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("Jan 2, 2006 15:04:05 UTC")
}

func pathEscape(s string) string {
	r := strings.NewReplacer("%", "%25", "/", "%2F", "?", "%3F", "#", "%23", " ", "%20")
	return r.Replace(s)
}

// redirect answers 301 to path on the request's own host, as Pyramid's
// HTTPMovedPermanently(current_route_path(...)) does once WebOb makes the
// Location absolute; the query string is kept.
func redirect(w http.ResponseWriter, r *http.Request, path string) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	loc := scheme + "://" + r.Host + path
	if r.URL.RawQuery != "" {
		loc += "?" + r.URL.RawQuery
	}
	w.Header().Set("Location", loc)
	w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	w.WriteHeader(http.StatusMovedPermanently)
}

// AppendSlash redirects a page path without its final slash to the path
// with it, as Warehouse's append-slash not-found view does.
func AppendSlash(w http.ResponseWriter, r *http.Request) {
	redirect(w, r, r.URL.EscapedPath()+"/")
}

// RedirectTo answers 301 to target with its {name} and {version}
// filled from the route's variables, as Warehouse's config.add_redirect
// does (/p/{name}/ → /project/{name}/).
func RedirectTo(target string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		path := target
		for k, v := range mux.Vars(r) {
			path = strings.ReplaceAll(path, "{"+k+"}", pathEscape(v))
		}
		redirect(w, r, path)
	}
}
