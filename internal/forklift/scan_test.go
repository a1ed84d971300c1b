package forklift

import (
	"strings"
	"testing"
)

// TestObfuscatedContent: warehouse/utils/scanner.py with the rules of
// warehouse/utils/scanner_rules/ (warehouse#19584): the first .py or .pye
// member (case-insensitive suffix, at most 5 MiB) matching pyarmor.yar (any
// of its strings) or sourcedefender.yar (both markers) refuses the file
// with the rule's message, checked after WHEEL/PKG-INFO and before the ZIP
// framing; disable-upload-scanning turns it off.
func TestObfuscatedContent(t *testing.T) {
	const pyarmor = "Invalid distribution file. PyArmor-encrypted content is not allowed. See https://pypi.org/policy/acceptable-use-policy/ for more information."
	const pye = "Invalid distribution file. SourceDefender-encrypted content is not allowed. See https://pypi.org/policy/acceptable-use-policy/ for more information."
	armored := "from pyarmor_runtime_000000 import __pyarmor__\n__pyarmor__(__name__, __file__, b'PY000000\\x00...')\n"
	pyeBody := "---BEGIN PYE FILE---\nAAAA\n---END PYE FILE---\n"
	sdist := func(ms ...member) []member {
		return append([]member{{name: "foo-1.0/PKG-INFO", body: "Metadata-Version: 2.1\n"}}, ms...)
	}
	for _, c := range []struct {
		name, filename string
		path           func(t *testing.T) string
		want           string
	}{
		{"wheel, pyarmor executor", "foo-1.0-py3-none-any.whl",
			func(t *testing.T) string {
				return writeZip(t, wheelMembers(member{name: "foo/core.py", body: armored}), false, "")
			}, pyarmor},
		{"wheel, a runtime hook, upper-case suffix", "foo-1.0-py3-none-any.whl",
			func(t *testing.T) string {
				return writeZip(t, wheelMembers(member{name: "foo/CORE.PY", body: "def f():\n    __pyarmor_enter__()\n"}), false, "")
			}, pyarmor},
		{"wheel, SourceDefender .pye", "foo-1.0-py3-none-any.whl",
			func(t *testing.T) string {
				return writeZip(t, wheelMembers(member{name: "foo/secret.pye", body: pyeBody}), false, "")
			}, pye},
		{"wheel, only one SourceDefender marker", "foo-1.0-py3-none-any.whl",
			func(t *testing.T) string {
				return writeZip(t, wheelMembers(member{name: "foo/half.pye", body: "---BEGIN PYE FILE---\n"}), false, "")
			}, ""},
		{"wheel, markers split across two members", "foo-1.0-py3-none-any.whl",
			func(t *testing.T) string {
				return writeZip(t, wheelMembers(member{name: "foo/a.py", body: "---BEGIN PYE FILE---\n"}, member{name: "foo/b.py", body: "---END PYE FILE---\n"}), false, "")
			}, ""},
		{"wheel, pyarmor text outside a .py", "foo-1.0-py3-none-any.whl",
			func(t *testing.T) string {
				return writeZip(t, wheelMembers(member{name: "foo/notes.txt", body: armored}), false, "")
			}, ""},
		{"wheel, first matching member wins", "foo-1.0-py3-none-any.whl",
			func(t *testing.T) string {
				return writeZip(t, wheelMembers(member{name: "foo/x.pye", body: pyeBody}, member{name: "foo/y.py", body: armored}), false, "")
			}, pye},
		{"wheel, a member over 5 MiB is not scanned", "foo-1.0-py3-none-any.whl",
			func(t *testing.T) string {
				return writeZip(t, wheelMembers(member{name: "foo/big.py", body: armored + strings.Repeat("#", 5<<20)}), false, "")
			}, ""},
		{"wheel, scan before framing", "foo-1.0-py3-none-any.whl",
			func(t *testing.T) string {
				return writeZip(t, wheelMembers(member{name: "foo/core.py", body: armored}), true, "")
			}, pyarmor},
		{"sdist, pyarmor", "foo-1.0.tar.gz",
			func(t *testing.T) string {
				return writeFile(t, tarGz(t, sdist(member{name: "foo-1.0/foo/core.py", body: armored}), nil))
			}, pyarmor},
		{"sdist, .pye", "foo-1.0.tar.gz",
			func(t *testing.T) string {
				return writeFile(t, tarGz(t, sdist(member{name: "foo-1.0/foo/s.pye", body: pyeBody}), nil))
			}, pye},
		{"sdist, PKG-INFO missing comes first", "foo-1.0.tar.gz",
			func(t *testing.T) string {
				return writeFile(t, tarGz(t, []member{{name: "foo-1.0/README", body: ""}, {name: "foo-1.0/foo/core.py", body: armored}}, nil))
			}, "Invalid distribution file. PKG-INFO not found at foo-1.0/PKG-INFO"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := ValidateDistFile(c.path(t), c.filename)
			got := ""
			if e != nil {
				got = e.Message
			}
			if got != c.want {
				t.Fatalf("got %q\nwant %q", got, c.want)
			}
		})
	}
	// disable-upload-scanning.
	p := writeZip(t, wheelMembers(member{name: "foo/core.py", body: armored}), false, "")
	if e := ValidateDistFileScan(p, "foo-1.0-py3-none-any.whl", false); e != nil {
		t.Fatalf("scanning off: %v", e)
	}
}
