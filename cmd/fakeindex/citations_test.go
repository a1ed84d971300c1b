package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoOutsideCitations: the project's docs, code comments, scenarios and
// test scripts stand alone. They cite upstream files (e.g.
// warehouse/forklift/legacy.py), never notes that are not in the
// repository, nor numbered sections of them.
func TestNoOutsideCitations(t *testing.T) {
	// Spelled in pieces, so this file does not cite them itself and needs
	// no exemption from its own walk.
	banned := []string{".." + "/shared", "shared" + "/spec", "pypi-server" + ".md",
		"publishing-clients" + ".md", "peers" + ".md", "\u00a7"}
	root := filepath.Join("..", "..")
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && strings.HasPrefix(name, ".") && name != ".ci" {
				return filepath.SkipDir
			}
			return nil
		}
		switch filepath.Ext(path) {
		case ".go", ".md", ".txtar", ".py", ".yaml", ".sh":
		default:
			if filepath.Base(filepath.Dir(path)) != ".ci" {
				return nil
			}
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		checked++
		for i, line := range strings.Split(string(b), "\n") {
			for _, w := range banned {
				if strings.Contains(line, w) {
					t.Errorf("%s:%d cites %q, which is not in the repository: cite the upstream file instead\n\t%s", path, i+1, w, strings.TrimSpace(line))
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 100 {
		t.Fatalf("only %d files checked: is the walk rooted at the repository?", checked)
	}
}
