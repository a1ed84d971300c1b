package issuer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	cfg, err := ParseConfig("ok.yaml", []byte(`
seed: scenario-1
keys: 2
lifetime: 10m
issuers:
  gitlab: https://gitlab.example.com
faults: [aud-list, "claim:actor=eve"]
context:
  github:
    repository: acme/widget
    environment: pypi
    ref_protected: false
  gitlab:
    runner_id: 7
`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Seed != "scenario-1" || cfg.Keys != 2 || cfg.Lifetime != 10*time.Minute ||
		cfg.Issuers[GitLab] != "https://gitlab.example.com" || len(cfg.Faults) != 2 ||
		cfg.Faults[1].Claim != "actor" || cfg.Context.GitHub.Repository != "acme/widget" ||
		*cfg.Context.GitHub.RefProtected || cfg.Context.GitLab.RunnerID != 7 {
		t.Fatalf("parsed %+v", cfg)
	}
	if cfg, err := ParseConfig("empty.yaml", nil); err != nil || cfg.Seed != "" {
		t.Fatalf("empty file: %v", err)
	}
}

func TestConfigErrorsNameFileAndLine(t *testing.T) {
	cases := map[string]struct{ yaml, want string }{
		"unknown field": {"seed: x\nnonsense: 1\n", `bad.yaml:2: unknown key "nonsense" (known: addr, public_url, seed,`},
		"typo":          {"context:\n  github:\n    enviroment: pypi\n", `bad.yaml:3: unknown key "enviroment" (did you mean environment?)`},
		"workflow file": {"context:\n  github:\n    workflow_file: release.yml\n", `bad.yaml:3: context.github.workflow_file: "release.yml": GitHub runs workflows only from .github/workflows/`},
		"type":          {"keys: many\n", "bad.yaml:1: `many` is not a whole number"},
		"syntax":        {"seed: [\n", "bad.yaml:"},
		"fault":         {"faults:\n  - expired\n  - bogus\n", `bad.yaml:3: unknown fault "bogus"`},
		"repository":    {"context:\n  github:\n    ref: refs/heads/x\n    repository: nope\n", `bad.yaml:4: context.github.repository: "nope": want owner/name`},
		"issuer kind":   {"issuers:\n  travis: https://x\n", "bad.yaml:2: issuers.travis: unknown CI kind"},
		"nested field":  {"context:\n  gitlab:\n    projectpath: x\n", `bad.yaml:3: unknown key "projectpath" (did you mean project_path?)`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := ParseConfig("bad.yaml", []byte(c.yaml))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to contain %q", err, c.want)
			}
		})
	}
	path := filepath.Join(t.TempDir(), "f.yaml")
	os.WriteFile(path, []byte("keys: 1\nseed: s\nlifetime: forever\n"), 0o644)
	if _, err := LoadConfig(path); err == nil || !strings.Contains(err.Error(), path+":3:") {
		t.Fatalf("LoadConfig: %v", err)
	}
	if _, err := LoadConfig(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Fatal("missing file accepted")
	}
}

func TestRunContextSet(t *testing.T) {
	var rc RunContext
	for path, val := range map[string]string{
		"github.environment":   "pypi",
		"github.ref_protected": "true",
		"github.fork":          "true",
		"gitlab.runner_id":     "9",
	} {
		if err := rc.Set(path, val); err != nil {
			t.Fatalf("Set(%s): %v", path, err)
		}
	}
	if rc.GitHub.Environment != "pypi" || !*rc.GitHub.RefProtected || !rc.GitHub.Fork || rc.GitLab.RunnerID != 9 {
		t.Fatalf("%+v", rc)
	}
	for _, bad := range [][2]string{{"github", "x"}, {"nope.x", "1"}, {"github.nope", "1"}, {"gitlab.runner_id", "x"}, {"github.fork", "maybe"}} {
		if err := rc.Set(bad[0], bad[1]); err == nil {
			t.Errorf("Set(%s, %s) accepted", bad[0], bad[1])
		}
	}
}
