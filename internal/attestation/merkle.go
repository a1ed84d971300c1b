package attestation

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/bits"
	"strings"

	"github.com/fakepypi/fakepypi/internal/pyfmt"
)

// RFC 6962 Merkle trees, as Rekor v1 builds them.

// LeafHash is SHA-256(0x00 || leaf).
func LeafHash(leaf []byte) []byte {
	h := sha256.New()
	h.Write([]byte{0})
	h.Write(leaf)
	return h.Sum(nil)
}

// nodeHash is SHA-256(0x01 || l || r).
func nodeHash(l, r []byte) []byte {
	h := sha256.New()
	h.Write([]byte{1})
	h.Write(l)
	h.Write(r)
	return h.Sum(nil)
}

// splitPoint is the largest power of two smaller than n (n > 1).
func splitPoint(n int) int {
	k := 1
	for k<<1 < n {
		k <<= 1
	}
	return k
}

// RootHash is MTH(D[n]) over leaf hashes.
func RootHash(leaves [][]byte) []byte {
	switch len(leaves) {
	case 0:
		s := sha256.Sum256(nil)
		return s[:]
	case 1:
		return leaves[0]
	}
	k := splitPoint(len(leaves))
	return nodeHash(RootHash(leaves[:k]), RootHash(leaves[k:]))
}

// InclusionPath is RFC 6962's PATH(m, D[n]), leaf to root.
func InclusionPath(m int, leaves [][]byte) [][]byte {
	if len(leaves) <= 1 {
		return nil
	}
	k := splitPoint(len(leaves))
	if m < k {
		return append(InclusionPath(m, leaves[:k]), RootHash(leaves[k:]))
	}
	return append(InclusionPath(m-k, leaves[k:]), RootHash(leaves[:k]))
}

// verifyInclusion is sigstore-python's verify_merkle_inclusion
// (sigstore/_internal/merkle.py), with its messages. The proof's
// description in the root-hash message is the str() of sigstore-models'
// InclusionProof, pydantic's "field=repr(value)" list.
func verifyInclusion(body []byte, p *InclusionProof) error {
	index, size := int64(p.LogIndex), int64(p.TreeSize)
	// Python's int.bit_length and bin().count("1") work on the absolute
	// value; int64 XOR and shifts give Python's values in this range.
	inner := bits.Len64(abs64(index ^ (size - 1)))
	border := bits.OnesCount64(abs64(index >> uint(inner)))
	if len(p.Hashes) != inner+border {
		return verr("inclusion proof has wrong size: expected %d, got %d", inner+border, len(p.Hashes))
	}
	seed := LeafHash(body)
	for i, h := range p.Hashes[:inner] {
		if (index>>uint(i))&1 == 0 {
			seed = nodeHash(seed, h)
		} else {
			seed = nodeHash(h, seed)
		}
	}
	for _, h := range p.Hashes[inner:] {
		seed = nodeHash(h, seed)
	}
	if string(seed) != string(p.RootHash) {
		return verr("inclusion proof contains invalid root hash: expected %s, calculated %s", p.pyStr(), hex.EncodeToString(seed))
	}
	return nil
}

func abs64(x int64) uint64 {
	if x < 0 {
		return uint64(-x)
	}
	return uint64(x)
}

// pyStr is str(InclusionProof) for sigstore-models' pydantic model.
func (p *InclusionProof) pyStr() string {
	hs := make([]string, len(p.Hashes))
	for i, h := range p.Hashes {
		hs[i] = pyfmt.ReprBytes(h)
	}
	cp := "None"
	if p.Checkpoint != nil {
		cp = "Checkpoint(envelope=" + pyfmt.Repr(p.Checkpoint.Envelope) + ")"
	}
	return fmt.Sprintf("log_index=%d root_hash=%s tree_size=%d hashes=[%s] checkpoint=%s",
		p.LogIndex, pyfmt.ReprBytes(p.RootHash), p.TreeSize, strings.Join(hs, ", "), cp)
}
