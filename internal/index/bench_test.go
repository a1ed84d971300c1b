package index_test

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"github.com/fakepypi/fakepypi/internal/catalog"
	"github.com/fakepypi/fakepypi/internal/events"
	"github.com/fakepypi/fakepypi/internal/readapi"
	"github.com/fakepypi/fakepypi/internal/trust"
	"github.com/google/uuid"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fakepypi/fakepypi/internal/index"
	"github.com/fakepypi/fakepypi/internal/indexconfig"
	"github.com/fakepypi/fakepypi/internal/issuer"
	"github.com/fakepypi/fakepypi/internal/oidc"
)

// benchSetup is the demo configuration: a GitHub publisher matching the
// issuer's default run context.
const benchSetup = `
users: [{name: owner}]
projects: [{name: demo, owners: [owner]}]
publishers:
  - {service: github, owner: octo-org, repository: octo-repo, workflow_filename: release.yml, projects: [demo]}
`

// mintRig is an index trusting an in-process fakeissuer, over loopback.
type mintRig struct {
	iss *issuer.Server
	idx *index.Server
}

func newMintRig(b *testing.B) *mintRig {
	b.Helper()
	iss, err := issuer.New(issuer.Config{Seed: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	is := httptest.NewServer(iss)
	b.Cleanup(is.Close)
	f, err := indexconfig.Parse("bench.yaml", []byte(benchSetup))
	if err != nil {
		b.Fatal(err)
	}
	f.Issuers = append(f.Issuers, oidc.Issuer{URL: oidc.GitHubIssuer, Service: oidc.GitHub, Discovery: is.URL})
	idx, err := index.Start(index.Config{Setup: *f})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { idx.Close() })
	return &mintRig{iss: iss, idx: idx}
}

// tokens signs n GitHub tokens for audience pypi, on every core.
func (r *mintRig) tokens(b *testing.B, n int) []string {
	b.Helper()
	out := make([]string, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				tok, err := r.iss.Token(context.Background(), "pypi")
				if err != nil {
					panic(err)
				}
				out[i] = tok
			}
		}()
	}
	wg.Wait()
	return out
}

// BenchmarkMint is the index's verify + mint over HTTP with 8 concurrent
// clients, each exchange with a fresh token (signing is done before the
// timer starts). The target (issue 14) is ≥ 2,000 exchanges/s on the
// 2-core machine; the exchanges/s metric is reported. "fresh" is a new
// index; "after-100k" one that has already recorded 100,000 mints (a
// full event log, 100,000 live tokens and jtis): the two should cost the
// same per exchange (the event log used to copy itself on every event
// once full).
func BenchmarkMint(b *testing.B) {
	for _, after := range []int{0, 100000} {
		name := "fresh"
		if after > 0 {
			name = "after-100k"
		}
		b.Run(name, func(b *testing.B) {
			r := newMintRig(b)
			r.prefill(b, after)
			r.bench(b)
		})
	}
}

// prefill leaves in the index what n earlier mints would have: their
// events (the last 10,000), their tokens and their jtis.
func (r *mintRig) prefill(b *testing.B, n int) {
	if n == 0 {
		return
	}
	tok := r.tokens(b, 1)[0]
	resp, err := http.Post(r.idx.URL()+"/_/oidc/mint-token", "application/json", strings.NewReader(`{"token": "`+tok+`"}`))
	if err != nil || resp.StatusCode != 200 {
		b.Fatalf("mint: %v %v", resp, err)
	}
	resp.Body.Close()
	ev, _ := r.idx.Events.Last(events.KindMint)
	pub := r.idx.Publishers.List(false)[0]
	for i := range n {
		ev.Details.(*trust.MintDetails).Claims["jti"] = fmt.Sprintf("prefill-%d", i)
		r.idx.Events.Add(ev)
		r.idx.JTI.Store("github", uuid.NewString(), time.Now().Unix()+300)
		if _, _, err := r.idx.Tokens.MintOIDC(pub.ID, nil, map[string]any{"ref": "refs/heads/main", "sha": "abc"}); err != nil {
			b.Fatal(err)
		}
	}
}

func (r *mintRig) bench(b *testing.B) {
	toks := r.tokens(b, b.N)
	url := r.idx.URL() + "/_/oidc/mint-token"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	var next atomic.Int64
	var failed atomic.Int64
	b.ResetTimer()
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < b.N; i = int(next.Add(1) - 1) {
				resp, err := client.Post(url, "application/json", bytes.NewReader([]byte(`{"token": "`+toks[i]+`"}`)))
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d exchanges failed", n, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "exchanges/s")
}

// seedReleases gives project "big" n releases of one small wheel each,
// with versions in a shuffled order (1.0.0, 1.0.1, ..., some pre- and
// post-releases), as a long-lived project has.
func seedReleases(b *testing.B, s *index.Server, n int) {
	b.Helper()
	for i := range n {
		v := fmt.Sprintf("%d.%d.%d", i/100, (i/10)%10, i%10)
		switch i % 7 {
		case 3:
			v += "rc1"
		case 5:
			v += ".post1"
		}
		_, err := s.Read.Seed(readapi.SeedFile{
			Project: "big", Version: v, Filename: "big-" + v + "-py3-none-any.whl", Content: benchWheel(b, v),
			Metadata: catalog.Metadata{MetadataVersion: "2.1", Summary: "a project with many releases",
				Description: strings.Repeat("A long description. ", 20), RequiresPython: ">=3.8",
				Classifiers: []string{"Programming Language :: Python :: 3", "License :: OSI Approved :: MIT License"}},
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

func benchWheel(b *testing.B, version string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("big-" + version + ".dist-info/METADATA")
	io.WriteString(w, "Metadata-Version: 2.1\nName: big\nVersion: "+version+"\n")
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkReadAPI1000 serves /pypi/big/json and /simple/big/ (HTML and
// JSON) for a project of 1,000 releases over HTTP. The target (issue 14)
// is a p50 under 10 ms; ns/op is the mean of sequential requests.
func BenchmarkReadAPI1000(b *testing.B) {
	s, err := index.Start(index.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	seedReleases(b, s, 1000)
	for _, c := range []struct{ name, path, accept string }{
		{"json", "/pypi/big/json", ""},
		{"simple-html", "/simple/big/", ""},
		{"simple-json", "/simple/big/", "application/vnd.pypi.simple.v1+json"},
	} {
		b.Run(c.name, func(b *testing.B) {
			req, _ := http.NewRequest("GET", s.URL()+c.path, nil)
			if c.accept != "" {
				req.Header.Set("Accept", c.accept)
			}
			var size int64
			for b.Loop() {
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				size, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("%s: %s", c.path, resp.Status)
				}
			}
			b.ReportMetric(float64(size), "bytes/response")
		})
	}
}
