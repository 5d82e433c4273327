package proto_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// protocVersion is the one line of generated code that names the protoc
// binary's version; Debian's protobuf-compiler is pinned by the distribution,
// not by us, so that line alone may differ.
var protocVersion = regexp.MustCompile(`(?m)^(//\s+-?\s*protoc\s+)v\S+$`)

// TestGeneratedCodeIsFresh regenerates every .proto into a temporary
// directory with the pinned plugins and fails when the committed code
// differs: run `make proto` and commit the result.
func TestGeneratedCodeIsFresh(t *testing.T) {
	if _, err := exec.LookPath("protoc"); err != nil {
		t.Fatal("protoc is not installed (apt-get install -y protobuf-compiler; .ci/run does it)")
	}
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "./generate", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("./generate: %v\n%s", err, msg)
	}
	var compared int
	err := filepath.WalkDir(out, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(out, path)
		fresh, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		committed, err := os.ReadFile(rel)
		if err != nil {
			t.Errorf("%s is generated but not committed: run `make proto`", rel)
			return nil
		}
		compared++
		if !bytes.Equal(normalize(fresh), normalize(committed)) {
			t.Errorf("%s is stale: run `make proto` and commit the result", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if compared == 0 {
		t.Fatal("./generate produced no files")
	}
}

func normalize(b []byte) []byte { return protocVersion.ReplaceAll(b, []byte("${1}vX")) }
