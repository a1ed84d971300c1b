package catalog

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/fakepypi/fakepypi/internal/clock"
)

// TestProvenancePersists: the PEP 740 provenance stored with a file
// (upload step 30) is there after the catalog is reopened. The snapshot
// re-indents it; the integrity API renders it from its decoded value, so
// only the JSON value must survive.
func TestProvenancePersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.json")
	c, err := Open(path, clock.NewFake(t0))
	if err != nil {
		t.Fatal(err)
	}
	newDemo(t, c)
	f := file("demo_pkg-1.0-py3-none-any.whl", "bdist_wheel", "w")
	prov := `{"attestation_bundles":[{"attestations":[{"version":1}],"publisher":{"claims":null,"kind":"GitHub"}}],"version":1}`
	f.Provenance = []byte(prov)
	if _, err := add(c, "1.0", "1", f); err != nil {
		t.Fatal(err)
	}
	c.Close()
	c2, err := Open(path, clock.NewFake(t0))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	p, _ := c2.Project("demo-pkg")
	rel, ok := p.Release("1")
	if !ok || len(rel.Files) != 1 {
		t.Fatalf("release lost: %+v", p)
	}
	var got, want any
	if err := json.Unmarshal(rel.Files[0].Provenance, &got); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal([]byte(prov), &want)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("provenance after reopen:\n got %s\nwant %s", rel.Files[0].Provenance, prov)
	}
}
