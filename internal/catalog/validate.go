package catalog

import (
	"errors"
	"fmt"
	"strings"

	"github.com/fakepypi/fakepypi/internal/blobstore"
	"github.com/google/uuid"
)

// validate checks a loaded state as a whole, so that a damaged or
// hand-edited catalog is refused at start with what is wrong instead of
// loading and then failing request after request. Every rule is one the
// catalog's own changes keep.
func validate(st *state) error {
	if st.Serial < 0 {
		return fmt.Errorf("last_serial is %d", st.Serial)
	}
	if st.Seq < 0 {
		return fmt.Errorf("seq is %d", st.Seq)
	}
	for name := range st.Filenames {
		if name == "" {
			return errors.New(`filenames holds an empty name`)
		}
	}
	files := map[string]string{} // filename → where
	blakes := map[string]string{}
	paths := map[string]string{}
	ids := map[uuid.UUID]string{}
	for _, name := range sortedKeys(st.Projects) {
		if err := validateProject(st, name, files, blakes, paths); err != nil {
			return err
		}
		id := st.Projects[name].ID
		if other, ok := ids[id]; ok {
			return fmt.Errorf("projects[%q].id is also the id of %q", name, other)
		}
		ids[id] = name
	}
	return nil
}

func validateProject(st *state, name string, files, blakes, paths map[string]string) error {
	p := st.Projects[name]
	at := fmt.Sprintf("projects[%q]", name)
	switch {
	case name == "":
		return errors.New("projects has an empty key")
	case p == nil:
		return fmt.Errorf("%s is null", at)
	case p.NormalizedName != name:
		return fmt.Errorf("%s.normalized_name is %q, not its key", at, p.NormalizedName)
	case p.Name == "":
		return fmt.Errorf("%s.name is empty", at)
	case p.ID == uuid.Nil:
		return fmt.Errorf("%s.id is missing", at)
	case p.UploadLimit <= 0:
		return fmt.Errorf("%s.upload_limit is %d", at, p.UploadLimit)
	case p.TotalSizeLimit <= 0:
		return fmt.Errorf("%s.total_size_limit is %d", at, p.TotalSizeLimit)
	case validStatus(p.Status) != nil:
		return fmt.Errorf("%s.status is %q", at, p.Status)
	case p.LastSerial < 0 || p.LastSerial > st.Serial:
		return fmt.Errorf("%s.last_serial is %d, outside 0..%d (the catalog's last_serial)", at, p.LastSerial, st.Serial)
	}
	for i, r := range p.Roles {
		if (r.Role != "Owner" && r.Role != "Maintainer") || r.User == "" {
			return fmt.Errorf("%s.roles[%d] is %q for %q (want Owner or Maintainer, and a user)", at, i, r.Role, r.User)
		}
	}
	versions := map[string]bool{}
	var total int64
	for ri := range p.Releases {
		r := &p.Releases[ri]
		rat := fmt.Sprintf("%s.releases[%d]", at, ri)
		switch {
		case r.Version == "" || r.CanonicalVersion == "":
			return fmt.Errorf("%s has no version or canonical_version", rat)
		case versions[r.CanonicalVersion]:
			return fmt.Errorf("%s: a second release %q", rat, r.CanonicalVersion)
		}
		versions[r.CanonicalVersion] = true
		for fi := range r.Files {
			f := &r.Files[fi]
			fat := fmt.Sprintf("%s.files[%d] (%q)", rat, fi, f.Filename)
			if err := validateFile(st, f); err != nil {
				return fmt.Errorf("%s: %v", fat, err)
			}
			if other, ok := files[f.Filename]; ok {
				return fmt.Errorf("%s: the same filename is at %s", fat, other)
			}
			if other, ok := blakes[f.Blake2256]; ok {
				return fmt.Errorf("%s: the same blake2_256 is at %s", fat, other)
			}
			if other, ok := paths[f.Path]; ok {
				return fmt.Errorf("%s: the same path is at %s", fat, other)
			}
			files[f.Filename], blakes[f.Blake2256], paths[f.Path] = fat, fat, fat
			total += f.Size
		}
	}
	if total != p.TotalSize {
		return fmt.Errorf("%s.total_size is %d, but its files add up to %d", at, p.TotalSize, total)
	}
	return nil
}

func validateFile(st *state, f *File) error {
	switch {
	case f.Filename == "" || strings.ContainsAny(f.Filename, "/\\"):
		return errors.New("bad filename")
	case f.PackageType == "":
		return errors.New("no packagetype")
	case f.Size < 0:
		return fmt.Errorf("size is %d", f.Size)
	case !isHex(f.MD5, 32):
		return errors.New("md5 is not 32 lowercase hex digits")
	case !isHex(f.SHA256, 64):
		return errors.New("sha256 is not 64 lowercase hex digits")
	case !isHex(f.Blake2256, 64):
		return errors.New("blake2_256 is not 64 lowercase hex digits")
	case f.MetadataSHA256 != "" && !isHex(f.MetadataSHA256, 64):
		return errors.New("metadata_sha256 is not 64 lowercase hex digits")
	case blobstore.ValidPath(f.Path) != nil:
		return fmt.Errorf("path %q is not a clean relative path", f.Path)
	case !st.Filenames[f.Filename]:
		return errors.New("missing from filenames (the registry of every filename ever used)")
	}
	return nil
}

func validStatus(status string) error {
	switch status {
	case "", StatusActive, StatusArchived, StatusQuarantined, StatusDeprecated:
		return nil
	}
	return fmt.Errorf("catalog: unknown project status %q", status)
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
