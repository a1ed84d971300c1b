package forklift

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"
)

type member struct {
	name, body string
	method     uint16 // zip only
	comment    string // zip only
}

// writeZip builds a zip without data descriptors (CreateRaw with sizes
// known up front), as real build tools write wheels.
func writeZip(t testing.TB, members []member, descriptor bool, trailing string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, m := range members {
		if descriptor {
			w, err := zw.Create(m.name)
			if err != nil {
				t.Fatal(err)
			}
			w.Write([]byte(m.body))
			continue
		}
		h := &zip.FileHeader{
			Name: m.name, Method: m.method, Comment: m.comment,
			CRC32:              crc32.ChecksumIEEE([]byte(m.body)),
			CompressedSize64:   uint64(len(m.body)),
			UncompressedSize64: uint64(len(m.body)),
		}
		w, err := zw.CreateRaw(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(m.body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	buf.WriteString(trailing)
	p := filepath.Join(t.TempDir(), "upload")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func tarGz(t testing.TB, members []member, mutate func([]byte) []byte) []byte {
	t.Helper()
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	for _, m := range members {
		h := &tar.Header{Name: m.name, Mode: 0o644, Size: int64(len(m.body)), Typeflag: tar.TypeReg}
		if m.name[len(m.name)-1] == '/' {
			h.Typeflag, h.Size = tar.TypeDir, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(m.body))
	}
	tw.Close()
	raw := tb.Bytes()
	if mutate != nil {
		raw = mutate(raw)
	}
	var gb bytes.Buffer
	gw := gzip.NewWriter(&gb)
	gw.Write(raw)
	gw.Close()
	return gb.Bytes()
}

func writeFile(t testing.TB, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "upload")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func wheelMembers(extra ...member) []member {
	ms := []member{
		{name: "foo/__init__.py", body: ""},
		{name: "foo-1.0.dist-info/WHEEL", body: "Wheel-Version: 1.0\n"},
		{name: "foo-1.0.dist-info/METADATA", body: "Metadata-Version: 2.1\nName: foo\nVersion: 1.0\n"},
	}
	ms = append(ms, extra...)
	var record string
	for _, m := range ms {
		record += m.name + ",,\n"
	}
	record += "foo-1.0.dist-info/RECORD,,\n"
	return append(ms, member{name: "foo-1.0.dist-info/RECORD", body: record})
}

const archivesHelp = ". See https://docs.pypi.org/archives for more information"

func TestValidateDistFileZip(t *testing.T) {
	cases := []struct {
		name, filename string
		path           func(t *testing.T) string
		want           string
	}{
		{"not a zip", "foo-1.0-py3-none-any.whl", func(t *testing.T) string { return writeFile(t, []byte("hello")) }, "Invalid distribution file. File is not a zipfile"},
		{"data descriptor", "foo-1.0-py3-none-any.whl", func(t *testing.T) string { return writeZip(t, wheelMembers(), true, "") },
			"Invalid distribution file. ZIP archive not accepted: ZIP contains a data descriptor" + archivesHelp},
		{"trailing data", "foo-1.0-py3-none-any.whl", func(t *testing.T) string { return writeZip(t, wheelMembers(), false, "junk") },
			"Invalid distribution file. ZIP archive not accepted: Trailing data" + archivesHelp},
		{"entry comment", "foo-1.0-py3-none-any.whl", func(t *testing.T) string {
			return writeZip(t, wheelMembers(member{name: "foo/x.py", body: "x", comment: "hi"}), false, "")
		}, "Invalid distribution file. ZIP archive not accepted: Comment in central directory" + archivesHelp},
		{"bzip2 member", "foo-1.0-py3-none-any.whl", func(t *testing.T) string {
			return writeZip(t, wheelMembers(member{name: "foo/x.py", body: "x", method: 12}), false, "")
		}, "Invalid distribution file. File does not use a supported compression type"},
		{"no WHEEL", "foo-1.0-py3-none-any.whl", func(t *testing.T) string { return writeZip(t, []member{{name: "foo/a.py", body: "a"}}, false, "") },
			"Invalid distribution file. WHEEL not found at foo-1.0.dist-info/WHEEL"},
		{"unparsable wheel name", "foo.whl", func(t *testing.T) string { return writeZip(t, wheelMembers(), false, "") },
			"Invalid distribution file. Unable to parse name and version from wheel filename"},
		{"zip sdist two tops", "foo-1.0.zip", func(t *testing.T) string {
			return writeZip(t, []member{{name: "a/PKG-INFO", body: "x"}, {name: "b/x", body: "y"}}, false, "")
		}, "Invalid distribution file. Incorrect number of top-level directories in sdist"},
		{"zip sdist no PKG-INFO", "foo-1.0.zip", func(t *testing.T) string {
			return writeZip(t, []member{{name: "foo-1.0/setup.py", body: "x"}, {name: "foo-1.0/README", body: "y"}}, false, "")
		}, "Invalid distribution file. PKG-INFO not found at foo-1.0/PKG-INFO"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := ValidateDistFile(c.path(t), c.filename)
			if e == nil || e.Status != 400 || e.Message != c.want {
				t.Errorf("got %v\nwant 400 %q", e, c.want)
			}
		})
	}
	if e := ValidateDistFile(writeZip(t, wheelMembers(), false, ""), "foo-1.0-py3-none-any.whl"); e != nil {
		t.Errorf("valid wheel refused: %v", e)
	}
	// An archive comment after the EOCD is allowed.
	p := writeZip(t, wheelMembers(), false, "")
	b, _ := os.ReadFile(p)
	b[len(b)-2] = 3
	b = append(b, "abc"...)
	if e := ValidateDistFile(writeFile(t, b), "foo-1.0-py3-none-any.whl"); e != nil {
		t.Errorf("zip with archive comment refused: %v", e)
	}
}

func TestZipDuplicateLocalHeader(t *testing.T) {
	// Two members with the same name: Python's zipfile keeps one entry,
	// the framing walk sees the name twice.
	p := writeZip(t, wheelMembers(member{name: "foo/__init__.py", body: ""}), false, "")
	e := ValidateDistFile(p, "foo-1.0-py3-none-any.whl")
	want := "Invalid distribution file. ZIP archive not accepted: Duplicate filename in local headers" + archivesHelp
	if e == nil || e.Message != want {
		t.Errorf("got %v\nwant %q", e, want)
	}
}

func TestValidateDistFileTar(t *testing.T) {
	good := []member{{name: "foo-1.0/", body: ""}, {name: "foo-1.0/PKG-INFO", body: "Metadata-Version: 2.1\n"}, {name: "foo-1.0/LICENSE", body: "MIT"}}
	sparse := func(raw []byte) []byte {
		raw[156] = 'S'                 // GNU sparse typeflag on the first header
		copy(raw[257:], "ustar  \x00") // GNU format magic
		// One sparse entry covering the 1-byte body, and the real size.
		copy(raw[386:], "00000000000\x00")
		copy(raw[398:], "00000000001\x00")
		copy(raw[483:], "00000000001\x00")
		sum := 0
		for i := 0; i < 512; i++ {
			if i >= 148 && i < 156 {
				sum += ' '
			} else {
				sum += int(raw[i])
			}
		}
		copy(raw[148:156], []byte(fmt.Sprintf("%06o\x00 ", sum)))
		return raw
	}
	full := tarGz(t, good, nil)
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"not a tar", []byte("plain text"), "Invalid distribution file. File is not a tarfile"},
		{"two tops", tarGz(t, []member{{name: "a/PKG-INFO", body: "x"}, {name: "b/c", body: "y"}}, nil), "Invalid distribution file. Incorrect number of top-level directories in sdist"},
		{"no PKG-INFO", tarGz(t, []member{{name: "foo-1.0/setup.py", body: "x"}, {name: "foo-1.0/README", body: "y"}}, nil), "Invalid distribution file. PKG-INFO not found at foo-1.0/PKG-INFO"},
		{"truncated gzip", full[:len(full)-12], "Invalid distribution file. None"},
		{"sparse member", tarGz(t, []member{{name: "foo-1.0/PKG-INFO", body: "x"}, {name: "foo-1.0/b", body: "y"}}, sparse), "Invalid distribution file. tar archive not accepted: Sparse members are not allowed. See https://docs.pypi.org/archives for more information"},
		{"zip and tar", append(append([]byte{}, full...), 0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), "Invalid distribution file. File is both a zip and a tar file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := ValidateDistFile(writeFile(t, c.data), "foo-1.0.tar.gz")
			if e == nil || e.Message != c.want {
				t.Errorf("got %v\nwant %q", e, c.want)
			}
		})
	}
	p := writeFile(t, full)
	if e := ValidateDistFile(p, "foo-1.0.tar.gz"); e != nil {
		t.Fatalf("valid sdist refused: %v", e)
	}
	m := &Metadata{LicenseFiles: []string{"LICENSE"}}
	if _, e := CheckDistContents(p, "foo-1.0.tar.gz", "sdist", m); e != nil {
		t.Errorf("present license refused: %v", e)
	}
	m.LicenseFiles = []string{"COPYING"}
	_, e := CheckDistContents(p, "foo-1.0.tar.gz", "sdist", m)
	if want := "License-File COPYING does not exist in distribution file foo-1.0.tar.gz at foo-1.0/COPYING"; e == nil || e.Message != want {
		t.Errorf("got %v\nwant %q", e, want)
	}
}

func TestCheckDistContentsWheel(t *testing.T) {
	const fn = "foo-1.0-py3-none-any.whl"
	ok := writeZip(t, wheelMembers(member{name: "foo-1.0.dist-info/licenses/LICENSE", body: "MIT"}), false, "")
	dc, e := CheckDistContents(ok, fn, "bdist_wheel", &Metadata{LicenseFiles: []string{"LICENSE"}})
	if e != nil {
		t.Fatal(e)
	}
	if string(dc.WheelMetadata) != "Metadata-Version: 2.1\nName: foo\nVersion: 1.0\n" || dc.RecordMismatch {
		t.Errorf("contents = %+v", dc)
	}

	noRecord := writeZip(t, wheelMembers()[:3], false, "")
	mismatch := writeZip(t, append(wheelMembers(), member{name: "foo/unlisted.py", body: "x"}), false, "")
	badEP := writeZip(t, wheelMembers(member{name: "foo-1.0.dist-info/entry_points.txt", body: "[console_scripts]\nbad name! = foo:main\n"}), false, "")
	noSection := writeZip(t, wheelMembers(member{name: "foo-1.0.dist-info/entry_points.txt", body: "foo = bar:baz\n"}), false, "")
	goodEP := writeZip(t, wheelMembers(member{name: "foo-1.0.dist-info/entry_points.txt", body: "# c\n[console_scripts]\nfoo-cli = foo:main\n\n[foo.plugins]\nA B = foo:x\n"}), false, "")
	var noMeta []member
	for _, m := range wheelMembers() {
		if m.name != "foo-1.0.dist-info/METADATA" {
			noMeta = append(noMeta, m)
		}
	}
	noMetadata := writeZip(t, noMeta, false, "")

	cases := []struct {
		name, path string
		meta       *Metadata
		want       string
	}{
		{"license missing", ok, &Metadata{LicenseFiles: []string{"COPYING"}}, "License-File COPYING does not exist in distribution file " + fn + " at foo-1.0.dist-info/licenses/COPYING"},
		{"no RECORD", noRecord, &Metadata{}, "Wheel '" + fn + "' does not contain the required RECORD file: foo-1.0.dist-info/RECORD"},
		{"bad entry point name", badEP, &Metadata{}, "Wheel '" + fn + "' has invalid entry points defined in the entry_points.txt file"},
		{"entry points without section", noSection, &Metadata{}, "Wheel '" + fn + "' has invalid entry points defined in the entry_points.txt file"},
		{"no METADATA", noMetadata, &Metadata{}, "Wheel '" + fn + "' does not contain the required METADATA file: foo-1.0.dist-info/METADATA"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, e := CheckDistContents(c.path, fn, "bdist_wheel", c.meta)
			if e == nil || e.Message != c.want {
				t.Errorf("got %v\nwant %q", e, c.want)
			}
		})
	}
	dc, e = CheckDistContents(mismatch, fn, "bdist_wheel", &Metadata{})
	if e != nil || !dc.RecordMismatch {
		t.Errorf("RECORD mismatch must be accepted and flagged: %+v %v", dc, e)
	}
	if _, e := CheckDistContents(goodEP, fn, "bdist_wheel", &Metadata{}); e != nil {
		t.Errorf("valid entry points refused: %v", e)
	}
}
