package forklift

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path"
	"strings"
)

// The upload scanner (warehouse/utils/scanner.py): while checking an
// archive, Warehouse runs YARA-X rules over its Python members and
// refuses the upload with the first match's message. The two rules
// (warehouse/utils/scanner_rules/*.yar, compiled in file-name order) are
// plain string matches, so they are reproduced here without YARA.

// scanMaxFile is _SCAN_MAX_FILE_SIZE: larger members are not scanned.
const scanMaxFile = 5 << 20

// scanRule is one YARA rule: it matches a member holding any (or, with
// all, every one) of its strings.
type scanRule struct {
	strings [][]byte
	all     bool
	message string
}

// scanRules in YARA-X's order, the order of the sorted rule files:
// pyarmor.yar, then sourcedefender.yar. A member matching both reports
// the first.
var scanRules = []scanRule{
	{ // pyarmor_encrypted
		strings: [][]byte{[]byte("__pyarmor__(__name__, __file__,"), []byte("__pyarmor_enter__"), []byte("__pyarmor_exit__"),
			[]byte("__pyarmor_assert__"), []byte("__pyarmor_bcc__")},
		message: "PyArmor-encrypted content is not allowed. See https://pypi.org/policy/acceptable-use-policy/ for more information.",
	},
	{ // sourcedefender_encrypted
		strings: [][]byte{[]byte("---BEGIN PYE FILE---"), []byte("---END PYE FILE---")},
		all:     true,
		message: "SourceDefender-encrypted content is not allowed. See https://pypi.org/policy/acceptable-use-policy/ for more information.",
	},
}

// scanMatch returns the message of the first rule data matches, or "".
func scanMatch(data []byte) string {
	for _, r := range scanRules {
		n := 0
		for _, s := range r.strings {
			if bytes.Contains(data, s) {
				n++
			}
		}
		if (r.all && n == len(r.strings)) || (!r.all && n > 0) {
			return r.message
		}
	}
	return ""
}

// scanned reports whether a member is scanned: its pathlib suffix,
// lowercased, is .py or .pye (_SCAN_EXTENSIONS). A suffix needs a dot
// that neither starts nor ends the last path component.
func scanned(name string) bool {
	base := path.Base(name)
	i := strings.LastIndexByte(base, '.')
	if i <= 0 || i == len(base)-1 {
		return false
	}
	ext := strings.ToLower(base[i:])
	return ext == ".py" || ext == ".pye"
}

// errScanRead is a member that could not be read while scanning:
// zipfile raises BadZipFile (a bad CRC) and tarfile ReadError, EOFError or
// zlib.error, which _is_valid_dist_file answers with the reason None.
type errScanRead struct{}

func (errScanRead) Error() string { return "member unreadable" }

// readScanned reads a member for scanning, at most scanMaxFile+1 bytes
// (one more tells it is too large, and is then skipped).
func readScanned(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, scanMaxFile+1))
	if err != nil {
		return nil, errScanRead{}
	}
	return data, nil
}

// scanZip is check_members over iter_zip_members: the files of the archive
// in its order, the first match wins. Warehouse scans them all at once
// and then file by file to attribute a match, which decides the same
// (a match across two members' boundary is attributed to none and ignored).
func scanZip(zr *zip.ReadCloser) (string, error) {
	for _, zf := range zr.File {
		if strings.HasSuffix(zf.Name, "/") || !scanned(zf.Name) {
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			return "", errScanRead{}
		}
		data, err := readScanned(rc)
		if err == nil && len(data) <= scanMaxFile {
			// zipfile checks the CRC once the whole member is read.
			_, err = io.Copy(io.Discard, rc)
		}
		rc.Close()
		if err != nil {
			return "", errScanRead{}
		}
		if len(data) > scanMaxFile {
			continue
		}
		if msg := scanMatch(data); msg != "" {
			return msg, nil
		}
	}
	return "", nil
}

// scanTar is check_members over iter_tar_members: regular files only.
func scanTar(f *os.File) (string, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", errScanRead{}
	}
	gz, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		return "", errScanRead{}
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return "", nil
		}
		if err != nil {
			return "", errScanRead{}
		}
		if (h.Typeflag != tar.TypeReg && h.Typeflag != tar.TypeRegA && h.Typeflag != tar.TypeCont) || !scanned(h.Name) {
			continue
		}
		data, err := readScanned(tr)
		if err != nil {
			return "", err
		}
		if len(data) > scanMaxFile {
			continue
		}
		if msg := scanMatch(data); msg != "" {
			return msg, nil
		}
	}
}
