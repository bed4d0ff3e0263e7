// gotlog: the independent side of the interoperability tests
// (tests/tlog/test_tlog_interop.c).  It speaks through Go's
// golang.org/x/mod/sumdb/note and golang.org/x/mod/sumdb/tlog, as Debian
// ships them (golang-golang-x-mod-dev), built offline in GOPATH mode:
//
//	GOPATH=/usr/share/gocode GO111MODULE=off go build -o gotlog gotlog.go
//
// Each subcommand reads stdin and writes stdout; any failure is a message
// on stderr and exit status 1.
//
//	vkey NAME PKHEX            note.NewEd25519VerifierKey
//	open VKEY...               note.Open of stdin; prints "verified N" and the text
//	tree                       stdin: one hex leaf datum a line; prints every stored
//	                           hash (tlog.StoredHashes) then "root N B64" (tlog.TreeHash)
//	checkrecord                stdin: "good|bad T N TH H P..." lines; tlog.CheckRecord
//	checktree                  stdin: "good|bad T TH N H P..." lines; tlog.CheckTree
//	prove N                    proofs of a tree of N leaves (leaf datum: SHA-256 of the
//	                           decimal index): "record T N TH H P..." for every leaf and
//	                           size, "tree T TH N H P..." for every pair of sizes
//	sign NAME                  signs stdin as a note with a new key; prints the vkey
//	                           line, then the note
//	proof ORIGIN N INDEX       a tlog-proof (c2sp.org/tlog-proof@v1) for leaf INDEX of
//	                           that tree, its checkpoint signed with a new key; prints
//	                           the vkey line, then the proof
//	cosign NAME                adds a cosignature/v1 (tlog-cosignature, written here
//	                           from the spec with crypto/ed25519) to the note on stdin;
//	                           prints the cosigner's vkey line, then the note
//
// Cosignatures (type 0x04) are not in x/mod; cosigVerifier and cosigSigner
// below implement them from the spec text, as a second reading of it.
package main

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func die(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "gotlog: "+format+"\n", args...)
	os.Exit(1)
}

func stdin() []byte {
	b, err := io.ReadAll(os.Stdin)
	if err != nil {
		die("reading stdin: %v", err)
	}
	return b
}

func keyID(name string, typ byte, pk []byte) uint32 {
	h := sha256.New()
	h.Write([]byte(name + "\n"))
	h.Write([]byte{typ})
	h.Write(pk)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

// A cosignature/v1 verifier: the signature is an 8-byte big-endian
// timestamp and 64 bytes of Ed25519 over "cosignature/v1\ntime T\n" || text.
type cosigVerifier struct {
	name string
	id   uint32
	pk   ed25519.PublicKey
}

func (v cosigVerifier) Name() string    { return v.name }
func (v cosigVerifier) KeyHash() uint32 { return v.id }
func (v cosigVerifier) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	t := binary.BigEndian.Uint64(sig)
	if t > 1<<63-1 {
		return false
	}
	return ed25519.Verify(v.pk, cosigned(t, msg), sig[8:])
}

// cosigned is the message a cosignature/v1 at time t signs.
func cosigned(t uint64, text []byte) []byte {
	return append([]byte(fmt.Sprintf("cosignature/v1\ntime %d\n", t)), text...)
}

type cosigSigner struct {
	name string
	id   uint32
	sk   ed25519.PrivateKey
}

func (s cosigSigner) Name() string    { return s.name }
func (s cosigSigner) KeyHash() uint32 { return s.id }
func (s cosigSigner) Sign(msg []byte) ([]byte, error) {
	t := uint64(time.Now().Unix())
	out := make([]byte, 8, 8+ed25519.SignatureSize)
	binary.BigEndian.PutUint64(out, t)
	return append(out, ed25519.Sign(s.sk, cosigned(t, msg))...), nil
}

// verifier parses a vkey: Ed25519 (0x01) through x/mod, cosignature (0x04) here.
func verifier(vkey string) note.Verifier {
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) == 3 {
		raw, err := base64.StdEncoding.DecodeString(parts[2])
		if err == nil && len(raw) == 33 && raw[0] == 0x04 {
			id := keyID(parts[0], 0x04, raw[1:])
			if fmt.Sprintf("%08x", id) != parts[1] {
				die("cosignature vkey %s: key ID mismatch", vkey)
			}
			return cosigVerifier{parts[0], id, ed25519.PublicKey(raw[1:])}
		}
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		die("NewVerifier(%s): %v", vkey, err)
	}
	return v
}

func cmdOpen(vkeys []string) {
	var vs []note.Verifier
	for _, k := range vkeys {
		vs = append(vs, verifier(k))
	}
	n, err := note.Open(stdin(), note.VerifierList(vs...))
	if err != nil {
		die("note.Open: %v", err)
	}
	fmt.Printf("verified %d\n%s", len(n.Sigs), n.Text)
}

// memory is a tlog.HashReader over stored hashes in a slice.
type memory []tlog.Hash

func (m memory) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		if x < 0 || x >= int64(len(m)) {
			return nil, fmt.Errorf("no stored hash %d", x)
		}
		out[i] = m[x]
	}
	return out, nil
}

func build(leaves [][]byte) memory {
	var m memory
	for i, d := range leaves {
		hs, err := tlog.StoredHashes(int64(i), d, m)
		if err != nil {
			die("StoredHashes: %v", err)
		}
		m = append(m, hs...)
	}
	return m
}

func cmdTree() {
	var leaves [][]byte
	sc := bufio.NewScanner(bytes.NewReader(stdin()))
	for sc.Scan() {
		d, err := hex.DecodeString(sc.Text())
		if err != nil {
			die("leaf %q: %v", sc.Text(), err)
		}
		leaves = append(leaves, d)
	}
	m := build(leaves)
	for _, h := range m {
		fmt.Println(h)
	}
	for n := 1; n <= len(leaves); n++ {
		th, err := tlog.TreeHash(int64(n), m)
		if err != nil {
			die("TreeHash(%d): %v", n, err)
		}
		fmt.Printf("root %d %s\n", n, th)
	}
}

func hashes(fields []string) []tlog.Hash {
	var out []tlog.Hash
	for _, f := range fields {
		h, err := tlog.ParseHash(f)
		if err != nil {
			die("hash %q: %v", f, err)
		}
		out = append(out, h)
	}
	return out
}

func atoi(s string) int64 {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		die("number %q: %v", s, err)
	}
	return v
}

// cmdCheck runs CheckRecord or CheckTree on each line; "good" lines must
// pass and "bad" lines must fail.
func cmdCheck(tree bool) {
	sc := bufio.NewScanner(bytes.NewReader(stdin()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	count := 0
	for line := 1; sc.Scan(); line++ {
		f := strings.Fields(sc.Text())
		if len(f) < 5 {
			die("line %d: too short", line)
		}
		var err error
		if tree {
			t, th, n, h := atoi(f[1]), hashes(f[2:3])[0], atoi(f[3]), hashes(f[4:5])[0]
			err = tlog.CheckTree(tlog.TreeProof(hashes(f[5:])), t, th, n, h)
		} else {
			t, n, th, h := atoi(f[1]), atoi(f[2]), hashes(f[3:4])[0], hashes(f[4:5])[0]
			err = tlog.CheckRecord(tlog.RecordProof(hashes(f[5:])), t, th, n, h)
		}
		if f[0] == "good" && err != nil {
			die("line %d: a proof we made is refused: %v", line, err)
		}
		if f[0] == "bad" && err == nil {
			die("line %d: a tampered proof is accepted", line)
		}
		count++
	}
	fmt.Printf("checked %d\n", count)
}

func datum(i int) []byte {
	h := sha256.Sum256([]byte(strconv.Itoa(i)))
	return h[:]
}

func join(hs []tlog.Hash) string {
	var s []string
	for _, h := range hs {
		s = append(s, h.String())
	}
	return strings.Join(s, " ")
}

func cmdProve(n int) {
	var leaves [][]byte
	for i := 0; i < n; i++ {
		leaves = append(leaves, datum(i))
	}
	m := build(leaves)
	roots := make([]tlog.Hash, n+1)
	for t := 1; t <= n; t++ {
		roots[t], _ = tlog.TreeHash(int64(t), m)
	}
	for t := 1; t <= n; t++ {
		for i := 0; i < t; i++ {
			p, err := tlog.ProveRecord(int64(t), int64(i), m)
			if err != nil {
				die("ProveRecord: %v", err)
			}
			fmt.Printf("record %d %d %s %s %s\n", t, i, roots[t], tlog.RecordHash(leaves[i]), join(p))
		}
		for o := 1; o <= t; o++ {
			p, err := tlog.ProveTree(int64(t), int64(o), m)
			if err != nil {
				die("ProveTree: %v", err)
			}
			fmt.Printf("tree %d %s %d %s %s\n", t, roots[t], o, roots[o], join(p))
		}
	}
}

func newSigner(name string) (note.Signer, string) {
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		die("GenerateKey: %v", err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		die("NewSigner: %v", err)
	}
	return s, vkey
}

func cmdSign(name string) {
	s, vkey := newSigner(name)
	msg, err := note.Sign(&note.Note{Text: string(stdin())}, s)
	if err != nil {
		die("note.Sign: %v", err)
	}
	fmt.Printf("%s\n%s", vkey, msg)
}

func cmdProof(origin string, n, index int) {
	var leaves [][]byte
	for i := 0; i < n; i++ {
		leaves = append(leaves, datum(i))
	}
	m := build(leaves)
	root, err := tlog.TreeHash(int64(n), m)
	if err != nil {
		die("TreeHash: %v", err)
	}
	p, err := tlog.ProveRecord(int64(n), int64(index), m)
	if err != nil {
		die("ProveRecord: %v", err)
	}
	s, vkey := newSigner(origin)
	cp, err := note.Sign(&note.Note{Text: fmt.Sprintf("%s\n%d\n%s\n", origin, n, root)}, s)
	if err != nil {
		die("note.Sign: %v", err)
	}
	fmt.Printf("%s\nc2sp.org/tlog-proof@v1\nextra %s\nindex %d\n", vkey,
		base64.StdEncoding.EncodeToString(leaves[index]), index)
	for _, h := range p {
		fmt.Println(h)
	}
	fmt.Printf("\n%s", cp)
}

func cmdCosign(name string) {
	pk, sk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		die("GenerateKey: %v", err)
	}
	id := keyID(name, 0x04, pk)
	// Keep the note's signatures: open it trusting nobody, which hands
	// them back as unverified.
	_, err = note.Open(stdin(), note.VerifierList())
	e, ok := err.(*note.UnverifiedNoteError)
	if !ok {
		die("note.Open: %v", err)
	}
	msg, err := note.Sign(e.Note, cosigSigner{name, id, sk})
	if err != nil {
		die("note.Sign: %v", err)
	}
	vkey := fmt.Sprintf("%s+%08x+%s", name, id,
		base64.StdEncoding.EncodeToString(append([]byte{0x04}, pk...)))
	fmt.Printf("%s\n%s", vkey, msg)
}

func main() {
	a := os.Args[1:]
	if len(a) == 0 {
		die("usage: gotlog vkey|open|tree|checkrecord|checktree|prove|sign|proof|cosign ...")
	}
	switch {
	case a[0] == "vkey" && len(a) == 3:
		pk, err := hex.DecodeString(a[2])
		if err != nil {
			die("public key: %v", err)
		}
		v, err := note.NewEd25519VerifierKey(a[1], ed25519.PublicKey(pk))
		if err != nil {
			die("NewEd25519VerifierKey: %v", err)
		}
		fmt.Println(v)
	case a[0] == "open" && len(a) >= 2:
		cmdOpen(a[1:])
	case a[0] == "tree":
		cmdTree()
	case a[0] == "checkrecord":
		cmdCheck(false)
	case a[0] == "checktree":
		cmdCheck(true)
	case a[0] == "prove" && len(a) == 2:
		cmdProve(int(atoi(a[1])))
	case a[0] == "sign" && len(a) == 2:
		cmdSign(a[1])
	case a[0] == "proof" && len(a) == 4:
		cmdProof(a[1], int(atoi(a[2])), int(atoi(a[3])))
	case a[0] == "cosign" && len(a) == 2:
		cmdCosign(a[1])
	default:
		die("unknown or incomplete command %q", strings.Join(a, " "))
	}
}
