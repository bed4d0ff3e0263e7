// verifyproof: check a c2sp.org/tlog-proof@v1 file offline with nothing but
// the log's verifier key and Go's golang.org/x/mod/sumdb packages: the
// program docs/transparency.md gives reviewers, run by the interop tests.
//
//	GOPATH=/usr/share/gocode GO111MODULE=off go run verifyproof.go FILE VKEY [ENTRY_HASH]
//
// FILE is the proof, VKEY the log's verifier key (`public-key --note`),
// ENTRY_HASH (optional) the entry's chain hash in hex, recomputed from the
// entry (docs/hash-encoding.md); without it the proof's extra line is used.
// Exit status 0 when the proof holds, 1 when not (saying why), 2 for bad use.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func fail(code int, format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "verifyproof: "+format+"\n", args...)
	os.Exit(code)
}

func main() {
	if len(os.Args) != 3 && len(os.Args) != 4 {
		fail(2, "usage: verifyproof FILE VKEY [ENTRY_HASH_HEX]")
	}
	data, err := os.ReadFile(os.Args[1])
	if err != nil {
		fail(2, "%v", err)
	}
	v, err := note.NewVerifier(os.Args[2])
	if err != nil {
		fail(2, "the verifier key: %v", err)
	}

	// The proof: header, optional extra, index, audit path, blank line,
	// then the signed checkpoint.
	i := bytes.Index(data, []byte("\n\n"))
	if i < 0 {
		fail(1, "format: no blank line before the checkpoint")
	}
	lines, checkpoint := strings.Split(string(data[:i]), "\n"), data[i+2:]
	if lines[0] != "c2sp.org/tlog-proof@v1" {
		fail(1, "format: not a c2sp.org/tlog-proof@v1")
	}
	lines = lines[1:]
	var entry []byte
	if len(lines) > 0 && strings.HasPrefix(lines[0], "extra ") {
		entry, _ = base64.StdEncoding.DecodeString(lines[0][6:])
		lines = lines[1:]
	}
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "index ") {
		fail(1, "format: no index line")
	}
	index, err := strconv.ParseInt(lines[0][6:], 10, 64)
	if err != nil {
		fail(1, "format: bad index: %v", err)
	}
	var path tlog.RecordProof
	for _, l := range lines[1:] {
		h, err := tlog.ParseHash(l)
		if err != nil {
			fail(1, "format: bad audit path line %q", l)
		}
		path = append(path, h)
	}
	if len(os.Args) == 4 {
		given, err := hex.DecodeString(os.Args[3])
		if err != nil || len(given) != 32 {
			fail(2, "ENTRY_HASH must be 64 hex digits")
		}
		if entry != nil && !bytes.Equal(entry, given) {
			fail(1, "entry hash: the entry is not the one the proof is for")
		}
		entry = given
	}
	if len(entry) != 32 {
		fail(1, "entry hash: no 32-byte entry hash")
	}

	// The log's signature (other signatures, such as cosignatures, are
	// ignored here), then the checkpoint's lines.
	n, err := note.Open(checkpoint, note.VerifierList(v))
	if err != nil {
		fail(1, "signature: %v", err)
	}
	cp := strings.Split(n.Text, "\n")
	if len(cp) < 4 || cp[0] != v.Name() {
		fail(1, "signature: the checkpoint's origin is not %s", v.Name())
	}
	size, err := strconv.ParseInt(cp[1], 10, 64)
	if err != nil {
		fail(1, "format: bad tree size")
	}
	root, err := tlog.ParseHash(cp[2])
	if err != nil {
		fail(1, "format: bad root hash")
	}
	if index >= size {
		fail(1, "index: %d is not below the tree size %d", index, size)
	}
	// The leaf is SHA-256(0x00 || entry hash): tlog.RecordHash.
	if err := tlog.CheckRecord(path, size, root, index, tlog.RecordHash(entry)); err != nil {
		fail(1, "audit path: %v", err)
	}
	fmt.Printf("valid: entry %x is leaf %d (seq %d) of %s, tree size %d\n",
		entry, index, index+1, cp[0], size)
}
