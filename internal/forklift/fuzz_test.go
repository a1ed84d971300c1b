package forklift

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fakepypi/fakepypi/internal/forklift/pep440"
	"github.com/fakepypi/fakepypi/internal/fuzzseed"
)

// The fuzz targets of the upload checks: everything a client sends in
// the form, its filename, and the archive itself.

var testFiles = []string{"metadata_test.go", "form_test.go", "filename_test.go", "archive_test.go"}

// formNames are the form fields the upload reads, metadata and others.
func formNames() []string {
	names := []string{"name", "version", "metadata_version", "filetype", "pyversion", "md5_digest",
		"sha256_digest", "blake2_256_digest", "protocol_version", ":action", "comment"}
	for _, spec := range fields {
		names = append(names, spec.form)
	}
	return names
}

// FuzzUploadForm: a valid base form with one field replaced by fuzzed
// values (several values separated by "\n\n") goes through step 1
// (sanitize), steps 5-6 (the form), step 7 (metadata) and the release
// key, as an upload does, without panicking; a refusal is always a 400.
func FuzzUploadForm(f *testing.F) {
	names := formNames()
	for i, s := range fuzzseed.Strings(f, testFiles...) {
		f.Add(names[i%len(names)], s)
	}
	f.Fuzz(func(t *testing.T, key, value string) {
		fs := baseFields()
		fs[key] = strings.Split(value, "\n\n")
		fuzzseed.Within(t, 10*time.Second, key+"="+value, func() {
			Sanitize(fs)
			if _, e := ValidateForm(fs); e != nil && e.Status != 400 {
				t.Fatalf("form refusal with status %d: %v", e.Status, e)
			}
			m, e := ParseMetadata(fs)
			if e != nil {
				if e.Status != 400 || e.Message == "" {
					t.Fatalf("metadata refusal %d %q", e.Status, e.Message)
				}
				return
			}
			NormalizeRelease(m)
		})
	})
}

// FuzzFilename: steps 17, 26 and 27 on any filename, for both file types
// and a project named foo 1.0.
func FuzzFilename(f *testing.F) {
	for _, s := range fuzzseed.Strings(f, "filename_test.go") {
		f.Add(s, "foo", "1.0")
	}
	f.Add("foo-1.0-py3-none-any.whl", "Foo.Bar", "1.0.post1")
	f.Fuzz(func(t *testing.T, filename, name, version string) {
		v, err := pep440.Parse(version)
		if err != nil {
			v, _ = pep440.Parse("1.0")
		}
		meta := &Metadata{Name: name, Version: v}
		fuzzseed.Within(t, 5*time.Second, filename, func() {
			for _, ft := range []string{"sdist", "bdist_wheel"} {
				ValidateFilename(filename, ft)
			}
			if w, err := ParseWheelFilename(filename); err == nil && w == nil {
				t.Fatal("ParseWheelFilename: nil without an error")
			}
			CheckWheelFilename(filename, meta, name, name)
			CheckSdistFilename(filename, meta, name, name)
		})
	})
}

// archiveSeeds are small valid and broken archives from the tests'
// builders.
func archiveSeeds(f *testing.F) [][]byte {
	var out [][]byte
	add := func(p string) {
		if b, err := os.ReadFile(p); err == nil {
			out = append(out, b)
		}
	}
	add(writeZip(f, wheelMembers(), false, ""))
	add(writeZip(f, wheelMembers(), true, ""))
	add(writeZip(f, wheelMembers(member{name: "foo/x.py", body: "x", comment: "hi"}), false, "junk"))
	add(writeZip(f, wheelMembers(member{name: "foo-1.0.dist-info/entry_points.txt", body: "[console_scripts]\nfoo = foo:main\n"}), false, ""))
	add(writeZip(f, []member{{name: "foo-1.0/PKG-INFO", body: "Metadata-Version: 2.1\n"}, {name: "foo-1.0/setup.py", body: ""}}, false, ""))
	out = append(out, tarGz(f, []member{{name: "foo-1.0/", body: ""}, {name: "foo-1.0/PKG-INFO", body: "Metadata-Version: 2.1\n"}, {name: "foo-1.0/LICENSE", body: "x"}}, nil))
	out = append(out, tarGz(f, []member{{name: "a/PKG-INFO", body: "x"}, {name: "b/x", body: "y"}}, nil))
	var z bytes.Buffer
	zw := zip.NewWriter(&z)
	w, _ := zw.Create("x")
	w.Write([]byte("deflated"))
	zw.Close()
	out = append(out, z.Bytes(), []byte("PK\x05\x06"+strings.Repeat("\x00", 18)), []byte("\x1f\x8b"), []byte{})
	return out
}

// FuzzArchive: step 25 (ValidateDistFile, including the ZIP framing
// walker) and steps 28-29 (CheckDistContents: License-File, RECORD,
// entry points, METADATA) on any bytes uploaded as a wheel, a zip sdist
// or a tar.gz sdist; a refusal is always a 400.
func FuzzArchive(f *testing.F) {
	for _, b := range archiveSeeds(f) {
		for kind := range uint8(3) {
			f.Add(b, kind, "LICENSE")
		}
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, kind uint8, licenseFile string) {
		filename := []string{"foo-1.0-py3-none-any.whl", "foo-1.0.zip", "foo-1.0.tar.gz"}[kind%3]
		filetype := map[bool]string{true: "bdist_wheel", false: "sdist"}[kind%3 == 0]
		tmp, err := os.CreateTemp(dir, "upload-")
		if err != nil {
			t.Fatal(err)
		}
		defer os.Remove(tmp.Name())
		tmp.Write(data)
		tmp.Close()
		fuzzseed.Within(t, 20*time.Second, len(data), func() {
			if e := ValidateDistFile(tmp.Name(), filename); e != nil {
				if e.Status != 400 {
					t.Fatalf("refusal %d %q", e.Status, e.Message)
				}
				return
			}
			dc, e := CheckDistContents(tmp.Name(), filename, filetype, &Metadata{LicenseFiles: []string{licenseFile}})
			if e != nil && e.Status != 400 {
				t.Fatalf("refusal %d %q", e.Status, e.Message)
			}
			if e == nil && len(dc.WheelMetadata) > MaxMemberSize {
				t.Fatalf("METADATA of %d bytes read", len(dc.WheelMetadata))
			}
		})
	})
}

// FuzzZipFraming: the ZIP framing walker alone (warehouse/utils/zipfiles.py
// validate_zipfile), on any bytes and with the central directory Go's
// archive/zip reads from them, when it reads one.
func FuzzZipFraming(f *testing.F) {
	for _, b := range archiveSeeds(f) {
		f.Add(b)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "z")
		tmp, err := os.CreateTemp(dir, "zip-")
		if err != nil {
			t.Fatal(err)
		}
		p = tmp.Name()
		defer os.Remove(p)
		tmp.Write(data)
		tmp.Close()
		cd := map[string]cdEntry{}
		if zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data))); err == nil {
			for _, zf := range zr.File {
				cd[zf.Name] = cdEntry{zf.CompressedSize64, zf.UncompressedSize64}
			}
		}
		fuzzseed.Within(t, 10*time.Second, len(data), func() { validateZipFraming(p, cd) })
	})
}
