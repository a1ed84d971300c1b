package forklift

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/fakepypi/fakepypi/internal/lazyregexp"
)

// Limits of _is_valid_dist_file (legacy.py).
const (
	compressionRatioMinSize   = 64 << 20 // COMPRESSION_RATIO_MIN_SIZE
	compressionRatioThreshold = 50       // COMPRESSION_RATIO_THRESHOLD
)

func invalidDist(reason string) *Error {
	return badRequest("Invalid distribution file. %s", reason)
}

// pyNone is how Python formats a None reason: when a zip or tar passes the
// quick type check but then fails to read, the status line reads
// "Invalid distribution file. None".
const pyNone = "None"

// isZipfile is zipfile.is_zipfile: an end-of-central-directory record is
// found in the last 64 KiB + 22 bytes of the file.
func isZipfile(f *os.File, size int64) bool {
	const eocdLen = 22
	if size < eocdLen {
		return false
	}
	// Fast path: no archive comment.
	b := make([]byte, eocdLen)
	if _, err := f.ReadAt(b, size-eocdLen); err == nil &&
		binary.LittleEndian.Uint32(b) == sigEOCD && b[20] == 0 && b[21] == 0 {
		return true
	}
	n := int64(eocdLen + 65535)
	if n > size {
		n = size
	}
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, size-n); err != nil {
		return false
	}
	i := bytes.LastIndex(buf, []byte{0x50, 0x4b, 0x05, 0x06})
	return i >= 0 && len(buf)-i >= eocdLen
}

// isTarfile is tarfile.is_tarfile: the file opens as a tar (plain, gzip or
// bzip2 compressed) whose first member header is valid.
func isTarfile(f *os.File) bool {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return false
	}
	br := bufio.NewReader(f)
	magic, _ := br.Peek(3)
	var r io.Reader = br
	switch {
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		gz, err := gzip.NewReader(br)
		if err != nil {
			return false
		}
		r = gz
	case len(magic) >= 3 && string(magic) == "BZh":
		r = bzip2.NewReader(br)
	}
	_, err := tar.NewReader(r).Next()
	return err == nil
}

// ValidateDistFile is step 25 (legacy.py _is_valid_dist_file plus
// warehouse/utils/zipfiles.py): it checks the uploaded file at path, named
// filename by the client, without loading it into memory, scanning its
// Python members for obfuscated content (scan.go).
func ValidateDistFile(path, filename string) *Error {
	return ValidateDistFileScan(path, filename, true)
}

// ValidateDistFileScan is ValidateDistFile with the content scan on or off
// (PyPI's admin flag disable-upload-scanning turns it off: legacy.py
// _is_valid_dist_file(scan=...)).
func ValidateDistFileScan(path, filename string, scan bool) *Error {
	f, err := os.Open(path)
	if err != nil {
		return invalidDist(pyNone)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return invalidDist(pyNone)
	}
	isZip := isZipfile(f, st.Size())
	if isZip && isTarfile(f) {
		return invalidDist("File is both a zip and a tar file")
	}
	switch {
	case strings.HasSuffix(filename, ".zip") || strings.HasSuffix(filename, ".whl"):
		if !isZip {
			return invalidDist("File is not a zipfile")
		}
		return validateZip(path, filename, f, st.Size(), scan)
	case strings.HasSuffix(filename, ".tar.gz"):
		if !isTarfile(f) {
			return invalidDist("File is not a tarfile")
		}
		return validateTar(f, scan)
	}
	return nil
}

// commonPrefix is os.path.commonprefix: character-wise, not by path
// component.
func commonPrefix(names []string) string {
	if len(names) == 0 {
		return ""
	}
	p := names[0]
	for _, n := range names[1:] {
		i := 0
		for i < len(p) && i < len(n) && p[i] == n[i] {
			i++
		}
		p = p[:i]
	}
	// Do not split a UTF-8 sequence (Python compares code points).
	for len(p) > 0 && !utf8.ValidString(p) {
		p = p[:len(p)-1]
	}
	return p
}

// pyJoin is os.path.join(a, b) for a relative b.
func pyJoin(a, b string) string {
	if a == "" || strings.HasSuffix(a, "/") {
		return a + b
	}
	return a + "/" + b
}

func openZip(path string) (*zip.ReadCloser, error) {
	zr, err := zip.OpenReader(path)
	if errors.Is(err, zip.ErrInsecurePath) {
		// Python's zipfile has no such check; keep the reader.
		err = nil
	}
	return zr, err
}

func zipHas(zr *zip.ReadCloser, name string) bool {
	for _, f := range zr.File {
		if f.Name == name {
			return true
		}
	}
	return false
}

func validateZip(path, filename string, f *os.File, size int64, scan bool) *Error {
	zr, err := openZip(path)
	if err != nil || zr == nil {
		return invalidDist(pyNone)
	}
	defer zr.Close()
	// Python's sum does not wrap; a uint64 does, and an entry declaring
	// 2^64-N bytes would make the total small again (a 1 MB wheel whose
	// METADATA inflates to 1 GiB passed). Saturate instead: any total
	// past 2^64 is past the threshold too.
	var total uint64
	for _, zf := range zr.File {
		if total > math.MaxUint64-zf.UncompressedSize64 {
			total = math.MaxUint64
			break
		}
		total += zf.UncompressedSize64
	}
	if total > compressionRatioMinSize && size > 0 && float64(total)/float64(size) > compressionRatioThreshold {
		return invalidDist("File exceeds compression ratio of 50")
	}
	for _, zf := range zr.File {
		if zf.Method != zip.Store && zf.Method != zip.Deflate {
			return invalidDist("File does not use a supported compression type")
		}
	}
	if strings.HasSuffix(filename, ".zip") {
		names := make([]string, len(zr.File))
		for i, zf := range zr.File {
			names[i] = zf.Name
		}
		top := commonPrefix(names)
		if top == "" || top == "." || top == "/" {
			return invalidDist("Incorrect number of top-level directories in sdist")
		}
		if target := pyJoin(top, "PKG-INFO"); !zipHas(zr, target) {
			return invalidDist("PKG-INFO not found at " + target)
		}
	}
	if strings.HasSuffix(filename, ".whl") {
		parts := strings.SplitN(filepath.Base(filename), "-", 3)
		if len(parts) != 3 {
			return invalidDist("Unable to parse name and version from wheel filename")
		}
		if target := parts[0] + "-" + parts[1] + ".dist-info/WHEEL"; !zipHas(zr, target) {
			return invalidDist("WHEEL not found at " + target)
		}
	}
	// The scan, between the WHEEL check and the framing check.
	if scan {
		msg, err := scanZip(zr)
		if err != nil {
			return invalidDist(pyNone)
		}
		if msg != "" {
			return invalidDist(msg)
		}
	}
	cd := make(map[string]cdEntry, len(zr.File))
	for _, zf := range zr.File {
		// zipfile decodes names without the UTF-8 flag as cp437; the local
		// header lookup decodes as UTF-8, so only ASCII names agree.
		if zf.Flags&0x800 == 0 && !isASCII(zf.Name) {
			continue
		}
		cd[zf.Name] = cdEntry{zf.CompressedSize64, zf.UncompressedSize64}
	}
	if reason := validateZipFraming(path, cd); reason != "" {
		return invalidDist("ZIP archive not accepted: " + reason + ". See https://docs.pypi.org/archives for more information")
	}
	return nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// tarNames reads every member of the gzip tar at f (decompressing the whole
// stream, as tarfile does) and returns the member names as
// TarFile.getnames() reports them. sparse is set when any member is sparse.
func tarNames(f *os.File) (names []string, sparse bool, err error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, false, err
	}
	gz, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		return nil, false, err
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, false, err
		}
		if h.Typeflag == tar.TypeXGlobalHeader {
			continue // tarfile consumes pax global headers itself
		}
		if h.Typeflag == tar.TypeGNUSparse {
			sparse = true
		}
		for k := range h.PAXRecords {
			if strings.HasPrefix(k, "GNU.sparse.") {
				sparse = true
			}
		}
		name := h.Name
		if h.Typeflag == tar.TypeDir {
			name = strings.TrimRight(name, "/")
		}
		names = append(names, name)
	}
	// Read to the end of the gzip stream so corruption past the tar EOF
	// marker is noticed, as tarfile's full read is.
	if _, err := io.Copy(io.Discard, gz); err != nil {
		return nil, false, err
	}
	return names, sparse, nil
}

func validateTar(f *os.File, scan bool) *Error {
	names, sparse, err := tarNames(f)
	if err != nil {
		return invalidDist(pyNone)
	}
	if sparse {
		return invalidDist("tar archive not accepted: Sparse members are not allowed. See https://docs.pypi.org/archives for more information")
	}
	top := commonPrefix(names)
	if top == "" || top == "." || top == "/" {
		return invalidDist("Incorrect number of top-level directories in sdist")
	}
	target := pyJoin(top, "PKG-INFO")
	found := false
	for _, n := range names {
		found = found || n == target
	}
	if !found {
		return invalidDist("PKG-INFO not found at " + target)
	}
	if scan {
		msg, err := scanTar(f)
		if err != nil {
			return invalidDist(pyNone)
		}
		if msg != "" {
			return invalidDist(msg)
		}
	}
	return nil
}

// DistContents is what CheckDistContents learned from an accepted file.
type DistContents struct {
	// WheelMetadata is the wheel's .dist-info/METADATA, stored verbatim as
	// the PEP 658 "<file>.metadata"; nil for sdists.
	WheelMetadata []byte
	// RecordMismatch is set when the wheel's RECORD does not list exactly
	// the archive's files. Warehouse accepts the upload and emails the
	// project owners.
	RecordMismatch bool
}

// CheckDistContents is steps 28 and 29, run after CheckSdistFilename or
// CheckWheelFilename: License-File entries must exist in the archive, and a
// wheel must have a readable RECORD, valid entry points and a METADATA
// file, which is returned.
func CheckDistContents(path, filename, filetype string, meta *Metadata) (*DistContents, *Error) {
	if filetype == "sdist" {
		if len(meta.LicenseFiles) == 0 {
			return &DistContents{}, nil
		}
		f, err := os.Open(path)
		if err != nil {
			return nil, invalidDist(pyNone)
		}
		defer f.Close()
		names, _, err := tarNames(f)
		if err != nil {
			return nil, invalidDist(pyNone)
		}
		top := commonPrefix(names)
		have := make(map[string]bool, len(names))
		for _, n := range names {
			have[n] = true
		}
		for _, lf := range meta.LicenseFiles {
			if target := pyJoin(top, lf); !have[target] {
				return nil, badRequest("License-File %s does not exist in distribution file %s at %s", lf, filename, target)
			}
		}
		return &DistContents{}, nil
	}

	zr, err := openZip(path)
	if err != nil || zr == nil {
		return nil, invalidDist(pyNone)
	}
	defer zr.Close()
	parts := strings.SplitN(filename, "-", 3)
	if len(parts) != 3 {
		return nil, invalidDist("Unable to parse name and version from wheel filename")
	}
	distInfo := parts[0] + "-" + parts[1] + ".dist-info/"
	for _, lf := range meta.LicenseFiles {
		if target := distInfo + "licenses/" + lf; !zipHas(zr, target) {
			return nil, badRequest("License-File %s does not exist in distribution file %s at %s", lf, filename, target)
		}
	}
	out := &DistContents{}
	recordName := distInfo + "RECORD"
	mismatch, ok, tooLarge := checkRecord(zr, recordName)
	if tooLarge {
		return nil, tooLargeMember(filename, recordName)
	}
	if !ok {
		return nil, badRequest("Wheel '%s' does not contain the required RECORD file: %s", filename, recordName)
	}
	out.RecordMismatch = mismatch
	data, found, err := readZipMember(zr, distInfo+"entry_points.txt")
	if errors.Is(err, errMemberTooLarge) {
		return nil, tooLargeMember(filename, distInfo+"entry_points.txt")
	}
	if err != nil || (found && !validEntryPoints(data)) {
		return nil, badRequest("Wheel '%s' has invalid entry points defined in the entry_points.txt file", filename)
	}
	metadataName := distInfo + "METADATA"
	data, found, err = readZipMember(zr, metadataName)
	if errors.Is(err, errMemberTooLarge) {
		return nil, tooLargeMember(filename, metadataName)
	}
	if err != nil || !found {
		return nil, badRequest("Wheel '%s' does not contain the required METADATA file: %s", filename, metadataName)
	}
	out.WheelMetadata = data
	return out, nil
}

// MaxMemberSize bounds what fakepypi reads of one archive member into
// memory (METADATA, RECORD, entry_points.txt). Warehouse reads members
// whole; its only bound is the compression-ratio check, which still lets
// a 100 MB wheel declare 5 GB. 64 MiB is COMPRESSION_RATIO_MIN_SIZE, far
// above any real wheel's metadata files.
const MaxMemberSize = compressionRatioMinSize

// errMemberTooLarge is readZipMember's refusal of a member over
// MaxMemberSize.
var errMemberTooLarge = errors.New("archive member larger than fakepypi reads")

func readZipMember(zr *zip.ReadCloser, name string) ([]byte, bool, error) {
	for _, zf := range zr.File {
		if zf.Name != name {
			continue
		}
		if zf.UncompressedSize64 > MaxMemberSize {
			return nil, true, errMemberTooLarge
		}
		rc, err := zf.Open()
		if err != nil {
			return nil, true, err
		}
		defer rc.Close()
		// archive/zip fails a member that inflates past its declared
		// size; the limit holds even if it did not.
		b, err := io.ReadAll(io.LimitReader(rc, MaxMemberSize+1))
		if err == nil && len(b) > MaxMemberSize {
			return nil, true, errMemberTooLarge
		}
		return b, true, err
	}
	return nil, false, nil
}

// tooLargeMember is the answer for a member over MaxMemberSize: PyPI has
// no such limit, so the message says the limit is fakepypi's.
func tooLargeMember(filename, member string) *Error {
	return badRequest("Wheel '%s' has a %s of more than %d MiB, which fakepypi does not read (its own limit; PyPI has none)",
		filename, member, MaxMemberSize>>20)
}

// checkRecord reports whether RECORD is present and readable (ok) and
// whether its paths differ from the archive's files (mismatch).
// Directories and the RECORD.jws / RECORD.p7s signatures are exempt, and
// '\' in RECORD paths counts as '/'. tooLarge is a RECORD over
// MaxMemberSize.
func checkRecord(zr *zip.ReadCloser, recordName string) (mismatch, ok, tooLarge bool) {
	data, found, err := readZipMember(zr, recordName)
	if errors.Is(err, errMemberTooLarge) {
		return false, false, true
	}
	if err != nil || !found || !utf8.Valid(data) {
		return false, false, false
	}
	rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		// A RECORD that csv cannot read still counts as present; its
		// content simply does not match.
		return true, true, false
	}
	listed := map[string]bool{}
	for _, row := range rows {
		if len(row) > 0 && row[0] != "" {
			listed[strings.ReplaceAll(row[0], `\`, "/")] = true
		}
	}
	files := map[string]bool{}
	for _, zf := range zr.File {
		if strings.HasSuffix(zf.Name, "/") || zf.Name == recordName+".jws" || zf.Name == recordName+".p7s" {
			continue
		}
		files[zf.Name] = true
	}
	delete(listed, recordName+".jws")
	delete(listed, recordName+".p7s")
	if len(listed) != len(files) {
		return true, true, false
	}
	for n := range files {
		if !listed[n] {
			return true, true, false
		}
	}
	return false, true, false
}

var (
	entryPointNameRe = lazyregexp.New(`^[\w.-]+$`)
	iniSectionRe     = lazyregexp.New(`^\[(.+)\]`)
)

// validEntryPoints checks entry_points.txt as Warehouse does: UTF-8, a
// configparser INI with "=" as the only delimiter (strict: no duplicate
// sections or keys, every non-comment line inside a section), and
// console_scripts / gui_scripts names matching [\w.-]+.
func validEntryPoints(data []byte) bool {
	if !utf8.Valid(data) {
		return false
	}
	text := strings.TrimPrefix(string(data), "\ufeff")
	sections := map[string]map[string]bool{}
	var cur map[string]bool
	var curName string
	lastKey := false
	for _, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" {
			lastKey = false
			continue
		}
		if strings.HasPrefix(trimmed, "#") || strings.HasPrefix(trimmed, ";") {
			continue
		}
		indented := line[0] == ' ' || line[0] == '\t'
		if indented && cur != nil && lastKey {
			continue // continuation of the previous value
		}
		if m := iniSectionRe().FindStringSubmatch(trimmed); m != nil && !indented {
			if _, dup := sections[m[1]]; dup {
				return false
			}
			curName = m[1]
			cur = map[string]bool{}
			sections[curName] = cur
			lastKey = false
			continue
		}
		if cur == nil {
			return false // MissingSectionHeaderError
		}
		key, _, found := strings.Cut(trimmed, "=")
		if !found {
			return false // ParsingError
		}
		key = strings.ToLower(strings.TrimSpace(key))
		if key == "" || cur[key] {
			return false
		}
		cur[key] = true
		lastKey = true
		if (curName == "console_scripts" || curName == "gui_scripts") && !entryPointNameRe().MatchString(key) {
			return false
		}
	}
	return true
}
