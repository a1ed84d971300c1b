package forklift

import (
	"encoding/binary"
	"errors"
	"io"
	"os"
	"unicode/utf8"
)

// ZIP record signatures (APPNOTE.TXT).
const (
	sigCentralDir   = 0x02014b50
	sigLocalFile    = 0x04034b50
	sigEOCD         = 0x06054b50
	sigEOCD64       = 0x06064b50
	sigEOCD64Locate = 0x07064b50
)

// zipFramingError carries one of the reasons of warehouse/utils/zipfiles.py.
type zipFramingError string

func (e zipFramingError) Error() string { return string(e) }

const errMalformedZip = zipFramingError("Malformed zip file")

// cdEntry is what Python's zipfile knows about a central directory entry:
// its compressed and uncompressed sizes, and whether the local header's
// UTF-8 decoding of the name finds it (zipfile decodes names without the
// UTF-8 flag as cp437, which only agrees with UTF-8 for ASCII).
type cdEntry struct {
	compressed, uncompressed uint64
}

// zipWalker reads records sequentially with cheap header reads and seeks
// over file data, so archives of any size are checked in constant memory.
type zipWalker struct {
	f   *os.File
	pos int64
}

func (w *zipWalker) read(n int) ([]byte, error) {
	buf := make([]byte, n)
	if _, err := io.ReadFull(w.f, buf); err != nil {
		return nil, errMalformedZip
	}
	w.pos += int64(n)
	return buf, nil
}

func (w *zipWalker) skip(n uint64) error {
	off, err := w.f.Seek(int64(n), io.SeekCurrent)
	if err != nil {
		return errMalformedZip
	}
	w.pos = off
	return nil
}

func hasUnprintable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c == 0x7f {
			return true
		}
	}
	return false
}

// validateZipFraming is warehouse/utils/zipfiles.py validate_zipfile: it
// walks local file headers, central directory headers and the end records
// in file order and refuses anything a streaming unzipper and a central
// directory reader could disagree on. cd maps each central directory name
// (as the local header's UTF-8 decoding would look it up) to its sizes.
// It returns "" when the framing is acceptable.
func validateZipFraming(path string, cd map[string]cdEntry) string {
	f, err := os.Open(path)
	if err != nil {
		return "Malformed zip file"
	}
	defer f.Close()
	w := &zipWalker{f: f}
	reason, err := walkZip(w, cd)
	if err != nil {
		var ze zipFramingError
		if errors.As(err, &ze) {
			return string(ze)
		}
		return "Malformed zip file"
	}
	return reason
}

func walkZip(w *zipWalker, cd map[string]cdEntry) (string, error) {
	local := map[string]bool{}
	central := map[string]bool{}
	var expectedEOCD64, actualEOCD64 int64 = -1, -1
	var cdRecords uint64
	var cdOffset int64 = -1
	var cdSize uint64
	var eocdRecords, eocdSize, eocdOffset uint64
	haveEOCDValues := false
	for {
		sigb, err := w.read(4)
		if err != nil {
			return "", err
		}
		sig := binary.LittleEndian.Uint32(sigb)
		if sig == sigEOCD && expectedEOCD64 >= 0 && actualEOCD64 < 0 {
			return "Malformed zip file", nil
		}
		if sig == sigEOCD64Locate && (expectedEOCD64 < 0 || actualEOCD64 >= 0) {
			return "Malformed zip file", nil
		}
		if sig != sigEOCD64Locate && sig != sigEOCD && expectedEOCD64 >= 0 {
			return "Malformed zip file", nil
		}
		switch sig {
		case sigCentralDir:
			if cdOffset < 0 {
				cdOffset = w.pos - 4
			}
			cdRecords++
			name, extraLen, err := centralHeader(w)
			if err != nil {
				return "", err
			}
			cdSize += 46 + uint64(len(name)) + uint64(extraLen)
			if central[name] {
				return "Duplicate filename in central directory", nil
			}
			if !local[name] {
				return "Missing filename in local headers", nil
			}
			central[name] = true
		case sigLocalFile:
			name, err := localHeader(w, cd)
			if err != nil {
				return "", err
			}
			if local[name] {
				return "Duplicate filename in local headers", nil
			}
			local[name] = true
		case sigEOCD:
			if cdOffset < 0 {
				cdOffset = w.pos - 4
			}
			b, err := w.read(18)
			if err != nil {
				return "", err
			}
			onDisk := binary.LittleEndian.Uint16(b[4:])
			records := binary.LittleEndian.Uint16(b[6:])
			size := binary.LittleEndian.Uint32(b[8:])
			offset := binary.LittleEndian.Uint32(b[12:])
			comment := binary.LittleEndian.Uint16(b[16:])
			if onDisk != records {
				return "Malformed zip file", nil
			}
			if err := w.skip(uint64(comment)); err != nil {
				return "", err
			}
			// A ZIP64 archive keeps the EOCD64 values.
			if !(actualEOCD64 >= 0 && haveEOCDValues) {
				eocdRecords, eocdSize, eocdOffset = uint64(records), uint64(size), uint64(offset)
			}
			if eocdRecords != cdRecords {
				return "Mismatched central directory records", nil
			}
			if eocdOffset != uint64(cdOffset) {
				return "Mismatched central directory offset", nil
			}
			if eocdSize != cdSize {
				return "Mismatched central directory size", nil
			}
			end, err := w.f.Seek(0, io.SeekEnd)
			if err != nil {
				return "", err
			}
			if end != w.pos {
				return "Trailing data", nil
			}
			return "", nil
		case sigEOCD64:
			expectedEOCD64 = w.pos - 4
			b, err := w.read(52)
			if err != nil {
				return "", err
			}
			recSize := binary.LittleEndian.Uint64(b[0:])
			onDisk := binary.LittleEndian.Uint64(b[20:])
			eocdRecords = binary.LittleEndian.Uint64(b[28:])
			eocdSize = binary.LittleEndian.Uint64(b[36:])
			eocdOffset = binary.LittleEndian.Uint64(b[44:])
			haveEOCDValues = true
			if onDisk != eocdRecords {
				return "Malformed zip file", nil
			}
			if recSize < 44 {
				return "Malformed zip file", nil
			}
			if recSize > 44 {
				return "ZIP64 extensible data not allowed", nil
			}
		case sigEOCD64Locate:
			b, err := w.read(16)
			if err != nil {
				return "", err
			}
			actualEOCD64 = int64(binary.LittleEndian.Uint64(b[4:]))
			if expectedEOCD64 != actualEOCD64 {
				return "Mis-matched EOCD64 record and locator offset", nil
			}
		default:
			return "Unknown record signature", nil
		}
	}
}

func centralHeader(w *zipWalker) (name string, extraLen int, err error) {
	b, err := w.read(42)
	if err != nil {
		return "", 0, err
	}
	nameLen := int(binary.LittleEndian.Uint16(b[24:]))
	extraLen = int(binary.LittleEndian.Uint16(b[26:]))
	commentLen := binary.LittleEndian.Uint16(b[28:])
	if commentLen != 0 {
		return "", 0, zipFramingError("Comment in central directory")
	}
	nb, err := w.read(nameLen)
	if err != nil {
		return "", 0, err
	}
	if _, err := w.read(extraLen); err != nil {
		return "", 0, err
	}
	if hasUnprintable(nb) {
		return "", 0, zipFramingError("Invalid character in filename")
	}
	return string(nb), extraLen, nil
}

func localHeader(w *zipWalker, cd map[string]cdEntry) (string, error) {
	b, err := w.read(26)
	if err != nil {
		return "", err
	}
	flags := binary.LittleEndian.Uint16(b[2:])
	method := binary.LittleEndian.Uint16(b[4:])
	compressed := uint64(binary.LittleEndian.Uint32(b[14:]))
	uncompressed := uint64(binary.LittleEndian.Uint32(b[18:]))
	nameLen := int(binary.LittleEndian.Uint16(b[22:]))
	extraLen := int(binary.LittleEndian.Uint16(b[24:]))
	nb, err := w.read(nameLen)
	if err != nil {
		return "", err
	}
	extra, err := w.read(extraLen)
	if err != nil {
		return "", err
	}
	if hasUnprintable(nb) {
		return "", zipFramingError("Invalid character in filename")
	}
	seen := map[uint16]bool{}
	for len(extra) > 0 {
		if len(extra) < 4 {
			return "", errMalformedZip
		}
		id := binary.LittleEndian.Uint16(extra)
		size := int(binary.LittleEndian.Uint16(extra[2:]))
		if size+4 > len(extra) {
			return "", errMalformedZip
		}
		if seen[id] && (id == 0x0001 || id == 0x7075) {
			return "", zipFramingError("Invalid duplicate extra in local file")
		}
		seen[id] = true
		data := extra[4 : 4+size]
		switch id {
		case 0x0001: // ZIP64 extended information
			switch size {
			case 0:
				if compressed == 0xFFFFFFFF {
					return "", errMalformedZip
				}
			case 8:
				if method != 0 {
					return "", errMalformedZip
				}
				compressed = binary.LittleEndian.Uint64(data)
				uncompressed = compressed
			case 16, 24, 28:
				uncompressed = binary.LittleEndian.Uint64(data)
				compressed = binary.LittleEndian.Uint64(data[8:])
			default:
				return "", errMalformedZip
			}
		case 0x7075: // Info-ZIP Unicode Path
			if size > 5 {
				u := data[5:]
				if hasUnprintable(u) {
					return "", zipFramingError("Invalid character in filename")
				}
				if !utf8.Valid(u) {
					return "", zipFramingError("Filename not valid UTF-8")
				}
			}
		}
		extra = extra[4+size:]
	}
	if flags&0x08 != 0 {
		return "", zipFramingError("ZIP contains a data descriptor")
	}
	if !utf8.Valid(nb) {
		return "", zipFramingError("Filename not unicode")
	}
	entry, ok := cd[string(nb)]
	if !ok {
		return "", zipFramingError("Filename not in central directory")
	}
	if entry.compressed != compressed {
		return "", zipFramingError("Mis-matched data size")
	}
	if entry.uncompressed != uncompressed {
		return "", zipFramingError("Mis-matched file size")
	}
	if err := w.skip(compressed); err != nil {
		return "", err
	}
	return string(nb), nil
}
