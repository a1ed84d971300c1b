package pypitest

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"net/textproto"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"
)

// distTime is the timestamp of every archive member, so that a
// distribution's bytes (and digests) are the same on every run: identical
// re-uploads are identical.
var distTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// DistOptions adds to the metadata of Wheel and Sdist.
type DistOptions struct {
	// Metadata lines appended to METADATA / PKG-INFO, e.g.
	// "Requires-Python: >=3.8".
	Metadata []string
	// Files are extra archive members, path relative to the archive root
	// (wheels) or the sdist's top directory, to content.
	Files map[string]string
	// Tag is the wheel's tag; default py3-none-any.
	Tag string
	// MetadataVersion is the Metadata-Version line; default "2.1".
	MetadataVersion string
	// Description is the message body after the headers (the long
	// description, as core metadata 2.1 puts it); default none.
	Description string
}

// normalized is a distribution name as wheel and sdist filenames spell it
// (PEP 427/625: lowercase, runs of -_. become _).
func normalized(name string) string {
	return strings.ToLower(regexp.MustCompile(`[-_.]+`).ReplaceAllString(name, "_"))
}

// WheelFilename is name-version-py3-none-any.whl with name normalized.
func WheelFilename(name, version string) string {
	return normalized(name) + "-" + version + "-py3-none-any.whl"
}

// SdistFilename is name-version.tar.gz with name normalized (PEP 625).
func SdistFilename(name, version string) string {
	return normalized(name) + "-" + version + ".tar.gz"
}

func coreMetadata(name, version string, o DistOptions) string {
	mv := o.MetadataVersion
	if mv == "" {
		mv = "2.1"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Metadata-Version: %s\nName: %s\nVersion: %s\nSummary: %s, built by pypitest\n", mv, name, version, name)
	for _, l := range o.Metadata {
		b.WriteString(l + "\n")
	}
	b.WriteString("\n")
	b.WriteString(o.Description)
	return b.String()
}

// Wheel builds a small valid pure-Python wheel that pip can install and
// PyPI's upload checks accept: a package named like the project (with
// __version__), METADATA, WHEEL and a correct RECORD. Members are stored
// without data descriptors, which PyPI's ZIP checks refuse.
func Wheel(name, version string, opts ...DistOptions) []byte {
	var o DistOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	tag := o.Tag
	if tag == "" {
		tag = "py3-none-any"
	}
	norm := normalized(name)
	di := norm + "-" + version + ".dist-info/"
	files := [][2]string{
		{norm + "/__init__.py", fmt.Sprintf("__version__ = %q\n", version)},
		{di + "METADATA", coreMetadata(name, version, o)},
		{di + "WHEEL", "Wheel-Version: 1.0\nGenerator: pypitest\nRoot-Is-Purelib: true\nTag: " + tag + "\n"},
	}
	for _, p := range slices.Sorted(maps.Keys(o.Files)) {
		files = append(files, [2]string{p, o.Files[p]})
	}
	var record strings.Builder
	for _, f := range files {
		sum := sha256.Sum256([]byte(f[1]))
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", f[0], base64.RawURLEncoding.EncodeToString(sum[:]), len(f[1]))
	}
	record.WriteString(di + "RECORD,,\n")
	files = append(files, [2]string{di + "RECORD", record.String()})

	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		data := []byte(f[1])
		fh := &zip.FileHeader{Name: f[0], Method: zip.Store, CRC32: crc32.ChecksumIEEE(data),
			CompressedSize64: uint64(len(data)), UncompressedSize64: uint64(len(data)), Modified: distTime}
		w, err := zw.CreateRaw(fh)
		if err != nil {
			panic(err) // only on a programming error: the writer is in memory
		}
		w.Write(data)
	}
	zw.Close()
	return buf.Bytes()
}

// WriteLargeWheel streams a valid wheel of about size bytes to w, for
// upload and download tests that need a big file without holding it in
// memory: the package's __init__.py, one stored member of size
// pseudo-random bytes (the same for the same name, version and size), and
// METADATA, WHEEL and a RECORD listing every member's sha256. Members are
// written raw with precomputed CRCs, so without data descriptors, which
// PyPI refuses. It returns the wheel's sha256 (hex), what a client sends
// as sha256_digest.
func WriteLargeWheel(w io.Writer, name, version string, size int64) (string, error) {
	block := make([]byte, min(1<<20, max(size, 1)))
	seed := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%s\x00%d", name, version, size)))
	for i := 0; i < len(block); i += len(seed) {
		seed = sha256.Sum256(seed[:])
		copy(block[i:], seed[:])
	}
	payload := func(w io.Writer) error {
		for n := int64(0); n < size; n += int64(len(block)) {
			if _, err := w.Write(block[:min(int64(len(block)), size-n)]); err != nil {
				return err
			}
		}
		return nil
	}
	crc, sum := crc32.NewIEEE(), sha256.New()
	payload(io.MultiWriter(crc, sum))
	whl := sha256.New()
	zw := zip.NewWriter(io.MultiWriter(w, whl))
	member := func(name string, n int64, c uint32, fill func(io.Writer) error) error {
		fh := &zip.FileHeader{Name: name, Method: zip.Store, CRC32: c, CompressedSize64: uint64(n), UncompressedSize64: uint64(n), Modified: distTime}
		fw, err := zw.CreateRaw(fh)
		if err != nil {
			return err
		}
		return fill(fw)
	}
	small := func(name, data string) error {
		return member(name, int64(len(data)), crc32.ChecksumIEEE([]byte(data)), func(w io.Writer) error {
			_, err := io.WriteString(w, data)
			return err
		})
	}
	norm := normalized(name)
	di := norm + "-" + version + ".dist-info/"
	var record strings.Builder
	for _, f := range [][2]string{
		{norm + "/__init__.py", fmt.Sprintf("__version__ = %q\n", version)},
		{di + "METADATA", coreMetadata(name, version, DistOptions{})},
		{di + "WHEEL", "Wheel-Version: 1.0\nGenerator: pypitest\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
	} {
		if err := small(f[0], f[1]); err != nil {
			return "", err
		}
		h := sha256.Sum256([]byte(f[1]))
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", f[0], base64.RawURLEncoding.EncodeToString(h[:]), len(f[1]))
	}
	blob := norm + "/data.bin"
	if err := member(blob, size, crc.Sum32(), payload); err != nil {
		return "", err
	}
	fmt.Fprintf(&record, "%s,sha256=%s,%d\n%sRECORD,,\n", blob, base64.RawURLEncoding.EncodeToString(sum.Sum(nil)), size, di)
	if err := small(di+"RECORD", record.String()); err != nil {
		return "", err
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	return hex.EncodeToString(whl.Sum(nil)), nil
}

// Sdist builds a PEP 625 source distribution: one top-level directory
// name-version/ with PKG-INFO, pyproject.toml and the package.
func Sdist(name, version string, opts ...DistOptions) []byte {
	var o DistOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	norm := normalized(name)
	top := norm + "-" + version + "/"
	files := [][2]string{
		{top + "PKG-INFO", coreMetadata(name, version, o)},
		{top + "pyproject.toml", fmt.Sprintf("[project]\nname = %q\nversion = %q\n", name, version)},
		{top + norm + "/__init__.py", fmt.Sprintf("__version__ = %q\n", version)},
	}
	for _, p := range slices.Sorted(maps.Keys(o.Files)) {
		files = append(files, [2]string{top + p, o.Files[p]})
	}
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	gz.ModTime = distTime
	tw := tar.NewWriter(gz)
	for _, f := range files {
		tw.WriteHeader(&tar.Header{Name: f[0], Mode: 0o644, Size: int64(len(f[1])), ModTime: distTime, Typeflag: tar.TypeReg, Format: tar.FormatPAX})
		tw.Write([]byte(f[1]))
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

// SdistZip builds the same source distribution as Sdist, as a .zip (the
// other sdist format PyPI accepts).
func SdistZip(name, version string, opts ...DistOptions) []byte {
	gz, err := gzip.NewReader(bytes.NewReader(Sdist(name, version, opts...)))
	if err != nil {
		panic(err)
	}
	tr := tar.NewReader(gz)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for {
		hdr, err := tr.Next()
		if err != nil {
			break
		}
		data, _ := io.ReadAll(tr)
		fh := &zip.FileHeader{Name: hdr.Name, Method: zip.Store, CRC32: crc32.ChecksumIEEE(data),
			CompressedSize64: uint64(len(data)), UncompressedSize64: uint64(len(data)), Modified: distTime}
		w, err := zw.CreateRaw(fh)
		if err != nil {
			panic(err)
		}
		w.Write(data)
	}
	zw.Close()
	return buf.Bytes()
}

// ParseFilename returns the distribution name and version a wheel or sdist
// filename carries.
func ParseFilename(filename string) (name, version string, err error) {
	base := path.Base(filename)
	switch {
	case strings.HasSuffix(base, ".whl"):
		parts := strings.Split(strings.TrimSuffix(base, ".whl"), "-")
		if len(parts) >= 5 {
			return parts[0], parts[1], nil
		}
	case strings.HasSuffix(base, ".tar.gz"), strings.HasSuffix(base, ".zip"):
		stem := strings.TrimSuffix(strings.TrimSuffix(base, ".tar.gz"), ".zip")
		if i := strings.LastIndex(stem, "-"); i > 0 {
			return stem[:i], stem[i+1:], nil
		}
	}
	return "", "", fmt.Errorf("%s: not a wheel or sdist filename", base)
}

// Metadata is a distribution's core metadata (METADATA or PKG-INFO):
// headers, possibly repeated, and the description body.
type Metadata struct {
	Header textproto.MIMEHeader
	Body   string
}

// Get returns the first value of a field ("Requires-Python").
func (m Metadata) Get(field string) string { return m.Header.Get(field) }

// ReadMetadata extracts the core metadata of a wheel (*.dist-info/METADATA)
// or an sdist (<top>/PKG-INFO), as twine does before uploading.
func ReadMetadata(filename string, content []byte) (Metadata, error) {
	raw, err := metadataBytes(filename, content)
	if err != nil {
		return Metadata{}, err
	}
	r := textproto.NewReader(bufio.NewReader(bytes.NewReader(raw)))
	h, err := r.ReadMIMEHeader()
	if err != nil && !errors.Is(err, io.EOF) {
		return Metadata{}, fmt.Errorf("%s: metadata: %w", filename, err)
	}
	body, _ := io.ReadAll(r.R)
	return Metadata{Header: h, Body: string(body)}, nil
}

func metadataBytes(filename string, content []byte) ([]byte, error) {
	switch {
	case strings.HasSuffix(filename, ".whl"), strings.HasSuffix(filename, ".zip"):
		zr, err := zip.NewReader(bytes.NewReader(content), int64(len(content)))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", filename, err)
		}
		for _, f := range zr.File {
			dir, base := path.Split(f.Name)
			if (base == "METADATA" && strings.HasSuffix(dir, ".dist-info/") && strings.Count(dir, "/") == 1) ||
				(base == "PKG-INFO" && strings.Count(dir, "/") == 1) {
				rc, err := f.Open()
				if err != nil {
					return nil, err
				}
				defer rc.Close()
				return io.ReadAll(rc)
			}
		}
	case strings.HasSuffix(filename, ".tar.gz"):
		gz, err := gzip.NewReader(bytes.NewReader(content))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", filename, err)
		}
		tr := tar.NewReader(gz)
		for {
			hdr, err := tr.Next()
			if err != nil {
				break
			}
			if dir, base := path.Split(hdr.Name); base == "PKG-INFO" && strings.Count(dir, "/") == 1 {
				return io.ReadAll(tr)
			}
		}
	}
	return nil, fmt.Errorf("%s: no METADATA or PKG-INFO found", filename)
}
