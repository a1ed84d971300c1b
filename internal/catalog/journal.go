package catalog

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// The on-disk catalog is two files side by side:
//
//	catalog.json     the snapshot: the whole state as one JSON document,
//	                 with "seq", the last journal record it includes
//	catalog.journal  the records committed since, one JSON object a line
//
// A change appends one line and fsyncs the journal once: that fsync is the
// moment the change is durable, and the only one a change costs the
// catalog. The write is proportional to the change (a new file is about a
// kilobyte), not to the catalog. When the journal outgrows the snapshot
// (and 1 MiB), the state is written as a new snapshot (temp file, fsync,
// rename, fsync of the directory) and the journal is emptied, so a
// snapshot's cost is spread over at least as many bytes of changes: the
// amortized cost of a change stays proportional to its size.
//
// Crash safety: a crash during an append leaves at most one incomplete
// last line, which was never acknowledged (its fsync had not returned);
// loading drops it. A crash between a snapshot's rename and the journal's
// truncation leaves records the snapshot already holds; loading skips
// them by seq. Any other damage (a bad line followed by good ones, a gap
// in the seqs) is refused with the file, the line and the problem.

// Snapshot formats. Version 1 is the whole-document format of earlier
// releases (no journal); it loads unchanged and is rewritten as version 2
// at once, so that an older binary refuses the directory instead of
// silently ignoring the journal.
const (
	stateFormat   = "fakepypi-catalog/2"
	stateFormatV1 = "fakepypi-catalog/1"
)

// minCompact is the journal size below which no snapshot is written.
const minCompact = 1 << 20

// journal is the on-disk store of a catalog.
type journal struct {
	snapPath string
	logPath  string
	f        *os.File // the journal, open for appending
	size     int64    // bytes of complete records in the journal
	snapSize int64
	// broken is set when a failed append could not be undone; every
	// later change fails with it until a restart reloads the files.
	broken error
	// write appends to f; tests replace it to inject a full disk.
	write func(f *os.File, data []byte) (int, error)
}

func writeFile(f *os.File, data []byte) (int, error) { return f.Write(data) }

// journalPath is where the journal of the snapshot at path lives.
func journalPath(path string) string {
	return strings.TrimSuffix(path, filepath.Ext(path)) + ".journal"
}

// openJournal loads the snapshot at path and replays its journal, checks
// the whole state, and opens the journal for appending.
func openJournal(path string) (*journal, *state, error) {
	j := &journal{snapPath: path, logPath: journalPath(path), write: writeFile}
	st, format, size, err := loadSnapshot(path)
	if err != nil {
		return nil, nil, err
	}
	j.snapSize = size
	good, err := replay(j.logPath, path, st)
	if err != nil {
		return nil, nil, err
	}
	if err := validate(st); err != nil {
		return nil, nil, fmt.Errorf("catalog: %s with %s: %w", path, filepath.Base(j.logPath), err)
	}
	f, err := os.OpenFile(j.logPath, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("catalog: %w", err)
	}
	j.f = f
	if fi, err := f.Stat(); err == nil && fi.Size() != good {
		// A torn last line from a crash: it was never acknowledged.
		if err := f.Truncate(good); err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("catalog: dropping the torn end of %s: %w", j.logPath, err)
		}
	}
	j.size = good
	if format != stateFormat {
		// A fresh directory, or a version 1 snapshot: write the current
		// format now (and fold in any journal).
		if err := j.compact(st); err != nil {
			f.Close()
			return nil, nil, err
		}
	}
	return j, st, nil
}

// loadSnapshot reads and checks the snapshot; a missing file is an empty
// catalog.
func loadSnapshot(path string) (st *state, format string, size int64, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return emptyState(), "", 0, nil
	}
	if err != nil {
		return nil, "", 0, fmt.Errorf("catalog: %w", err)
	}
	st = &state{}
	if err := json.Unmarshal(data, st); err != nil {
		return nil, "", 0, fmt.Errorf("catalog: %s: %w", path, err)
	}
	format = st.Format
	switch format {
	case stateFormat, stateFormatV1:
	case "":
		return nil, "", 0, fmt.Errorf("catalog: %s: no \"format\": not a fakepypi catalog", path)
	default:
		return nil, "", 0, fmt.Errorf("catalog: %s: unknown format %q (this fakeindex reads %s and %s; a newer one wrote it?)", path, format, stateFormat, stateFormatV1)
	}
	if st.Projects == nil {
		st.Projects = map[string]*Project{}
	}
	if st.Filenames == nil {
		st.Filenames = map[string]bool{}
	}
	for _, p := range st.Projects {
		if p != nil {
			for i := range p.Releases {
				// The catalog keeps files by filename; a hand-edited
				// file need not.
				sort.Slice(p.Releases[i].Files, func(a, b int) bool {
					return p.Releases[i].Files[a].Filename < p.Releases[i].Files[b].Filename
				})
			}
		}
	}
	if err := validate(st); err != nil {
		return nil, "", 0, fmt.Errorf("catalog: %s: %w", path, err)
	}
	st.Format = stateFormat
	st.index()
	return st, format, int64(len(data)), nil
}

// replay applies the journal's records after the snapshot's seq and
// returns the length of its complete, good prefix.
func replay(path, snapPath string, st *state) (int64, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("catalog: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 64<<10)
	var good int64
	for line := 1; ; line++ {
		data, err := r.ReadBytes('\n')
		if err == io.EOF {
			// An unterminated last line is a torn append, even when what
			// was written of it parses: it was never acknowledged.
			return good, nil
		}
		if err != nil {
			return 0, fmt.Errorf("catalog: %s: %w", path, err)
		}
		var rec record
		if err := json.Unmarshal(data, &rec); err != nil {
			if _, perr := r.Peek(1); perr == io.EOF {
				return good, nil // a torn last line (e.g. zeros after a crash)
			}
			return 0, fmt.Errorf("catalog: %s:%d: %v", path, line, err)
		}
		switch {
		case rec.Seq <= st.Seq:
			// Already in the snapshot.
		case rec.Seq != st.Seq+1:
			return 0, fmt.Errorf("catalog: %s:%d: record %d follows record %d: records are missing (was %s replaced by an older copy?)",
				path, line, rec.Seq, st.Seq, filepath.Base(snapPath))
		default:
			if err := st.applyRecord(&rec); err != nil {
				return 0, fmt.Errorf("catalog: %s:%d: record %d: %v", path, line, rec.Seq, err)
			}
		}
		good += int64(len(data))
	}
}

// append makes rec durable: one write and one fsync of the journal. On
// failure the journal is cut back to its last complete record.
func (j *journal) append(rec *record) error {
	if j.broken != nil {
		return j.broken
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	data = append(data, '\n')
	_, err = j.write(j.f, data)
	if err == nil {
		err = j.f.Sync()
	}
	if err != nil {
		if fi, serr := j.f.Stat(); serr != nil || fi.Size() != j.size {
			if terr := j.f.Truncate(j.size); terr != nil {
				j.broken = fmt.Errorf("catalog: the journal could not be cut back after a failed write (%v); restart to recover: %w", terr, err)
			}
		}
		return saveError(err)
	}
	j.size += int64(len(data))
	return nil
}

// wantsCompaction reports whether the journal has outgrown the snapshot.
func (j *journal) wantsCompaction() bool {
	return j.size > minCompact && j.size > j.snapSize
}

// compact writes st (whose Seq is the last record appended) as the new
// snapshot and empties the journal. The caller keeps st from changing.
func (j *journal) compact(st *state) error {
	data, err := json.MarshalIndent(st, "", " ")
	if err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	if err := writeFileAtomic(j.snapPath, append(data, '\n')); err != nil {
		return fmt.Errorf("catalog: snapshot: %w", err)
	}
	j.snapSize = int64(len(data)) + 1
	// The snapshot holds every record now; one that survives a failed
	// truncation is skipped by seq at the next load.
	if err := j.f.Truncate(0); err == nil {
		j.size = 0
		j.f.Sync()
	}
	return nil
}

// saveError reports a failed journal write without the journal's path
// (the message may reach a client's event log).
func saveError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("catalog: save: %s: %w", pe.Op, pe.Err)
	}
	return fmt.Errorf("catalog: save: %w", err)
}

func (j *journal) close() error {
	return j.f.Close()
}

// writeFileAtomic replaces path with data: temp file, fsync, rename, fsync
// of the directory, so a crash leaves the old file or the new one.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".catalog-*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		os.Remove(tmp)
		return werr
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// sortedKeys lists m's keys in order, for messages.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
