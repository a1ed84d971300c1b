package forklift

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rawMember is a zip member written exactly as given: compressed bytes,
// declared sizes and CRC, whatever they are.
type rawMember struct {
	name       string
	method     uint16
	data       []byte // as stored
	usize, crc uint64
}

func deflated(t testing.TB, plain io.Reader) (data []byte, usize uint64, crc uint32) {
	t.Helper()
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.BestCompression)
	h := crc32.NewIEEE()
	n, err := io.Copy(io.MultiWriter(fw, h), plain)
	if err != nil {
		t.Fatal(err)
	}
	fw.Close()
	return buf.Bytes(), uint64(n), h.Sum32()
}

// writeRawZip writes members by hand, so declared sizes can be anything:
// a member declaring 4 GiB or more carries a ZIP64 extra field in its
// local header (uncompressed and compressed size) and in its central
// directory entry (uncompressed size), as zip tools write them; the
// archive's own records stay small, so no EOCD64 is needed.
func writeRawZip(t testing.TB, members []rawMember) string {
	t.Helper()
	var out bytes.Buffer
	le := binary.LittleEndian
	var cd bytes.Buffer
	for _, m := range members {
		offset := out.Len()
		usize32, localExtra, cdExtra := uint32(m.usize), []byte(nil), []byte(nil)
		if m.usize >= 0xFFFFFFFF {
			usize32 = 0xFFFFFFFF
			localExtra = le.AppendUint16(le.AppendUint16(nil, 0x0001), 16)
			localExtra = le.AppendUint64(le.AppendUint64(localExtra, m.usize), uint64(len(m.data)))
			cdExtra = le.AppendUint64(le.AppendUint16(le.AppendUint16(nil, 0x0001), 8), m.usize)
		}
		h := le.AppendUint32(nil, 0x04034b50)
		h = le.AppendUint16(h, 45)
		h = le.AppendUint16(h, 0) // flags: no data descriptor
		h = le.AppendUint16(h, m.method)
		h = le.AppendUint32(h, 0) // time, date
		h = le.AppendUint32(h, uint32(m.crc))
		h = le.AppendUint32(h, uint32(len(m.data)))
		h = le.AppendUint32(h, usize32)
		h = le.AppendUint16(h, uint16(len(m.name)))
		h = le.AppendUint16(h, uint16(len(localExtra)))
		out.Write(h)
		out.WriteString(m.name)
		out.Write(localExtra)
		out.Write(m.data)

		c := le.AppendUint32(nil, 0x02014b50)
		c = le.AppendUint16(c, 45)
		c = le.AppendUint16(c, 45)
		c = le.AppendUint16(c, 0)
		c = le.AppendUint16(c, m.method)
		c = le.AppendUint32(c, 0)
		c = le.AppendUint32(c, uint32(m.crc))
		c = le.AppendUint32(c, uint32(len(m.data)))
		c = le.AppendUint32(c, usize32)
		c = le.AppendUint16(c, uint16(len(m.name)))
		c = le.AppendUint16(c, uint16(len(cdExtra)))
		c = le.AppendUint16(c, 0) // comment
		c = le.AppendUint16(c, 0) // disk
		c = le.AppendUint16(c, 0) // internal attributes
		c = le.AppendUint32(c, 0) // external attributes
		c = le.AppendUint32(c, uint32(offset))
		cd.Write(c)
		cd.WriteString(m.name)
		cd.Write(cdExtra)
	}
	cdOffset := out.Len()
	out.Write(cd.Bytes())
	e := le.AppendUint32(nil, 0x06054b50)
	e = le.AppendUint32(e, 0) // disk numbers
	e = le.AppendUint16(e, uint16(len(members)))
	e = le.AppendUint16(e, uint16(len(members)))
	e = le.AppendUint32(e, uint32(cd.Len()))
	e = le.AppendUint32(e, uint32(cdOffset))
	e = le.AppendUint16(e, 0)
	out.Write(e)
	p := filepath.Join(t.TempDir(), "foo-1.0-py3-none-any.whl")
	if err := os.WriteFile(p, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// stored is a small member stored as is.
func stored(name, body string) rawMember {
	return rawMember{name: name, method: zip.Store, data: []byte(body), usize: uint64(len(body)), crc: uint64(crc32.ChecksumIEEE([]byte(body)))}
}

// bombWheel is issue 11 item 2's wheel: METADATA inflating to
// metadataSize bytes from a few hundred KB, and, with wrap, one more
// member declaring 2^64 - metadataSize + 1000 bytes so that a wrapping
// uint64 total comes back to about 1000.
func bombWheel(t testing.TB, metadataSize int64, wrap bool) string {
	t.Helper()
	head := "Metadata-Version: 2.1\nName: foo\nVersion: 1.0\n\n"
	data, usize, crc := deflated(t, io.MultiReader(strings.NewReader(head), io.LimitReader(zeros{}, metadataSize-int64(len(head)))))
	ms := []rawMember{
		stored("foo/__init__.py", ""),
		stored("foo-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\n"),
		{name: "foo-1.0.dist-info/METADATA", method: zip.Deflate, data: data, usize: usize, crc: uint64(crc)},
	}
	record := "foo/__init__.py,,\nfoo-1.0.dist-info/WHEEL,,\nfoo-1.0.dist-info/METADATA,,\nfoo-1.0.dist-info/RECORD,,\n"
	if wrap {
		ms = append(ms, rawMember{name: "foo/pad", method: zip.Store, usize: math.MaxUint64 - usize + 1001})
		record = "foo/pad,,\n" + record
	}
	return writeRawZip(t, append(ms, stored("foo-1.0.dist-info/RECORD", record)))
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestZipRatioOverflow: the declared sizes of a wheel's members add up
// past 2^64. Python's sum does not wrap, so PyPI refuses the file for
// its compression ratio; fakepypi's uint64 wrapped, and the wheel, whose
// 70 MB METADATA would be read into memory and served, was accepted.
func TestZipRatioOverflow(t *testing.T) {
	const size = 70 << 20 // past COMPRESSION_RATIO_MIN_SIZE (64 MiB)
	const want = "Invalid distribution file. File exceeds compression ratio of 50"
	for _, wrap := range []bool{false, true} {
		p := bombWheel(t, size, wrap)
		st, _ := os.Stat(p)
		e := ValidateDistFile(p, "foo-1.0-py3-none-any.whl")
		if e == nil || e.Message != want {
			t.Errorf("wrap=%v: a %d-byte wheel declaring a %d-byte METADATA: %v, want %q", wrap, st.Size(), size, e, want)
		}
	}
}

// TestZipRatioBoundaries: exactly at the threshold passes, as in
// Warehouse (decompressed > 64 MiB and ratio > 50 both needed).
func TestZipRatioBoundaries(t *testing.T) {
	// 64 MiB of METADATA in a wheel of a few hundred KB: not more than
	// COMPRESSION_RATIO_MIN_SIZE in total... once the small members are
	// counted it is; so stay just under.
	p := bombWheel(t, compressionRatioMinSize-1000, false)
	if e := ValidateDistFile(p, "foo-1.0-py3-none-any.whl"); e != nil {
		t.Errorf("a wheel under 64 MiB decompressed was refused: %v", e)
	}
}

// TestMemberCap: a member over MaxMemberSize is not read into memory,
// whatever the ratio check allowed; the answer says the limit is
// fakepypi's own.
func TestMemberCap(t *testing.T) {
	for _, member := range []string{"METADATA", "RECORD", "entry_points.txt"} {
		ms := []rawMember{stored("foo-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\n")}
		body := map[string]string{
			"METADATA":         "Metadata-Version: 2.1\nName: foo\nVersion: 1.0\n",
			"RECORD":           "foo-1.0.dist-info/WHEEL,,\nfoo-1.0.dist-info/METADATA,,\nfoo-1.0.dist-info/RECORD,,\n",
			"entry_points.txt": "[console_scripts]\nfoo = foo:main\n",
		}
		for _, m := range []string{"METADATA", "RECORD", "entry_points.txt"} {
			if m == member {
				data, usize, crc := deflated(t, io.MultiReader(strings.NewReader(body[m]), io.LimitReader(zeros{}, MaxMemberSize)))
				ms = append(ms, rawMember{name: "foo-1.0.dist-info/" + m, method: zip.Deflate, data: data, usize: usize, crc: uint64(crc)})
			} else {
				ms = append(ms, stored("foo-1.0.dist-info/"+m, body[m]))
			}
		}
		p := writeRawZip(t, ms)
		_, e := CheckDistContents(p, "foo-1.0-py3-none-any.whl", "bdist_wheel", &Metadata{})
		want := "Wheel 'foo-1.0-py3-none-any.whl' has a foo-1.0.dist-info/" + member + " of more than 64 MiB, which fakepypi does not read (its own limit; PyPI has none)"
		if e == nil || e.Message != want {
			t.Errorf("%s over the cap: %v\nwant %q", member, e, want)
		}
	}
}
