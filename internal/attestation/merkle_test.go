package attestation

import (
	"fmt"
	"strings"
	"testing"
)

// TestInclusionProofs: every leaf's RFC 6962 path, for trees of 1 to 33
// leaves, passes sigstore-python's check; a path for the wrong index, or
// with a hash changed, fails it.
func TestInclusionProofs(t *testing.T) {
	for n := 1; n <= 33; n++ {
		var bodies [][]byte
		var leaves [][]byte
		for i := 0; i < n; i++ {
			b := []byte(fmt.Sprintf("entry %d", i))
			bodies = append(bodies, b)
			leaves = append(leaves, LeafHash(b))
		}
		root := RootHash(leaves)
		for m := 0; m < n; m++ {
			p := &InclusionProof{LogIndex: Int64(m), TreeSize: Int64(n), RootHash: root, Hashes: InclusionPath(m, leaves)}
			if err := verifyInclusion(bodies[m], p); err != nil {
				t.Fatalf("n=%d m=%d: %v", n, m, err)
			}
			if n > 1 {
				other := (m + 1) % n
				if err := verifyInclusion(bodies[other], p); err == nil {
					t.Fatalf("n=%d m=%d: another leaf's body verified", n, m)
				}
				bad := &InclusionProof{LogIndex: p.LogIndex, TreeSize: p.TreeSize, RootHash: root, Hashes: append([][]byte{}, p.Hashes...)}
				bad.Hashes[0] = LeafHash([]byte("x"))
				if err := verifyInclusion(bodies[m], bad); err == nil || !strings.Contains(err.Error(), "invalid root hash") {
					t.Fatalf("n=%d m=%d: tampered path: %v", n, m, err)
				}
			}
		}
	}
}
