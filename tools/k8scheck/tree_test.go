package k8scheck

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// The repository holds sources: no built executable, and nothing large but
// the reports' images under docs/. `make check-tree` runs this test first,
// before anything builds.
func TestTrackedFilesAreSources(t *testing.T) {
	root := repoRoot(t)
	if _, err := os.Stat(filepath.Join(root, ".git")); err != nil {
		t.Skipf("%s is not a git checkout: no tracked files to check", root)
	}
	cmd := exec.Command("git", "ls-files", "-z")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	files := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	if len(files) < 100 {
		t.Fatalf("git ls-files lists %d files; want the whole repository", len(files))
	}
	for _, p := range trackedFileProblems(root, files) {
		t.Error(p)
	}
}

// The check itself, on a doctored tree: each kind of unwanted file is named,
// sources and the reports' images pass.
func TestTrackedFileProblemsNameEachUnwantedFile(t *testing.T) {
	root := t.TempDir()
	big := bytes.Repeat([]byte("x"), maxTrackedSize+1)
	pe := make([]byte, 0x80)
	copy(pe, "MZ")
	binary.LittleEndian.PutUint32(pe[0x3c:], 0x40)
	copy(pe[0x40:], "PE\x00\x00")
	files := map[string][]byte{
		"apps/orders/main.go":           []byte("package main\n"),
		"tools/runtime/build.sh":        []byte("#!/bin/bash\necho hi\n"),
		"docs/reports/chart.png":        big, // a report image: allowed
		"docs/benchmarks.md":            []byte("# Benchmarks\n"),
		"MZ.txt":                        []byte("MZ is not a PE header without PE\\0\\0\n"),
		"apps/orders/orders":            append([]byte("\x7fELF\x02\x01\x01"), make([]byte, 64)...),
		"apps/tickets/tickets":          {0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1}, // Mach-O 64-bit, little-endian
		"tools/fat":                     {0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 2}, // Mach-O universal
		"bin/tool.exe":                  pe,
		"out/dump.json":                 big,
		"docs/reports/huge.md":          big, // only images are allowed to be large under docs/
		"docs/reports/elf.png":          []byte("\x7fELF\x02\x01\x01\x00"),
		"apps/pkg/events/testdata/x.go": []byte(""),
	}
	var names []string
	for name, b := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	names = append(names, "deleted/in/the/work/tree.go") // tracked, not on disk: nothing to read
	got := map[string]string{}
	for _, p := range trackedFileProblems(root, names) {
		name, why, _ := strings.Cut(p, ": ")
		got[name] = why
	}
	want := map[string]string{
		"apps/orders/orders":   "an executable (ELF)",
		"apps/tickets/tickets": "an executable (Mach-O)",
		"tools/fat":            "an executable (Mach-O)",
		"bin/tool.exe":         "an executable (PE)",
		"out/dump.json":        fmt.Sprintf("%d bytes, over 1 MiB", maxTrackedSize+1),
		"docs/reports/huge.md": fmt.Sprintf("%d bytes, over 1 MiB", maxTrackedSize+1),
		"docs/reports/elf.png": "an executable (ELF)",
	}
	for name, why := range want {
		if !strings.HasPrefix(got[name], why) {
			t.Errorf("%s: got %q, want %q", name, got[name], why)
		}
	}
	for name, why := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s flagged (%s), want it allowed", name, why)
		}
	}
}

// maxTrackedSize is the largest file the repository may track (report images
// under docs/ aside).
const maxTrackedSize = 1 << 20

// trackedFileProblems names each of files (slash paths under root) that is an
// executable binary (ELF, Mach-O, PE), or larger than maxTrackedSize and not
// a PNG image under docs/. Files missing from disk are skipped.
func trackedFileProblems(root string, files []string) []string {
	var problems []string
	for _, name := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		fi, err := os.Lstat(p)
		if err != nil || !fi.Mode().IsRegular() {
			continue // deleted in the work tree, a symlink or a submodule
		}
		if kind, err := executableKind(p); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", name, err))
			continue
		} else if kind != "" {
			problems = append(problems, fmt.Sprintf("%s: an executable (%s); build outputs belong in .gitignore", name, kind))
			continue
		}
		reportImage := strings.HasPrefix(name, "docs/") && path.Ext(name) == ".png"
		if fi.Size() > maxTrackedSize && !reportImage {
			problems = append(problems, fmt.Sprintf("%s: %d bytes, over 1 MiB", name, fi.Size()))
		}
	}
	return problems
}

// executableKind reads a file's magic number: "ELF", "Mach-O", "PE" or "".
func executableKind(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	head := make([]byte, 4)
	if _, err := io.ReadFull(f, head); err != nil {
		return "", nil // shorter than any magic number
	}
	switch {
	case bytes.Equal(head, []byte("\x7fELF")):
		return "ELF", nil
	case machOMagic[binary.BigEndian.Uint32(head)]:
		return "Mach-O", nil
	case bytes.HasPrefix(head, []byte("MZ")):
		// A DOS header: a PE executable if the offset at 0x3c points at
		// "PE\0\0" (a text file may well begin with "MZ").
		var off [4]byte
		if _, err := f.ReadAt(off[:], 0x3c); err != nil {
			return "", nil
		}
		sig := make([]byte, 4)
		if _, err := f.ReadAt(sig, int64(binary.LittleEndian.Uint32(off[:]))); err == nil && bytes.Equal(sig, []byte("PE\x00\x00")) {
			return "PE", nil
		}
	}
	return "", nil
}

// machOMagic are Mach-O's magic numbers as the file's first four bytes read
// big-endian: 32- and 64-bit in either byte order, and universal binaries.
var machOMagic = map[uint32]bool{
	0xfeedface: true, 0xcefaedfe: true,
	0xfeedfacf: true, 0xcffaedfe: true,
	0xcafebabe: true, 0xcafebabf: true,
}
