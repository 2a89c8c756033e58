package scheduler

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestPurity keeps placement pure, in this package and every package below
// it (cql included): no I/O, no clock, no unseeded randomness. It reads the
// non-test sources, so it judges the code that ships and not its tests.
//
// Imports must be the standard library minus what reaches outside the
// process, or packages of this tree. Anything else from this module (store,
// state, runtime, ...) or from outside it would bring I/O in through the back
// door; the standard library's own dependencies are not I/O this code can
// call, which is why direct imports are what matters.
func TestPurity(t *testing.T) {
	const module = "github.com/wharf-ecs/wharf/"
	const self = module + "internal/scheduler"
	// As in go list patterns, "/..." takes in the packages below.
	forbidden := []string{
		"net/...", "os/...", "syscall", "io/ioutil", "io/fs", "database/...", "plugin", "unsafe",
		"crypto/rand", // entropy from the OS
		"math/rand",   // v1: its top-level functions draw from an unseeded source
		"log/...",     // placement answers with a plan, it does not write
		"runtime/cgo",
	}
	// Calls that read the clock or the global random source.
	forbiddenCalls := map[string]map[string]bool{
		"time": {"Now": true, "Since": true, "Until": true, "Sleep": true, "After": true,
			"Tick": true, "NewTimer": true, "NewTicker": true, "AfterFunc": true},
	}
	// math/rand/v2 is allowed for its seeded generators only: its top-level
	// functions draw from a source seeded at random.
	seeded := map[string]bool{"New": true, "NewPCG": true, "NewChaCha8": true, "NewZipf": true,
		"Rand": true, "Source": true, "PCG": true, "ChaCha8": true, "Zipf": true}

	checked := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") && path != "." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		checked++
		// names maps each import's local name to its path, for the calls.
		names := map[string]string{}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			name := p[strings.LastIndex(p, "/")+1:]
			if p == "math/rand/v2" {
				name = "rand"
			}
			if imp.Name != nil {
				name = imp.Name.Name
			}
			names[name] = p
			switch first := strings.SplitN(p, "/", 2)[0]; {
			case p == self || strings.HasPrefix(p, self+"/"):
			case strings.HasPrefix(p, module):
				t.Errorf("%s imports %s: placement sees the cluster only through its snapshot", path, p)
			case strings.Contains(first, "."):
				t.Errorf("%s imports %s: placement uses the standard library only", path, p)
			default:
				for _, bad := range forbidden {
					tree, isTree := strings.CutSuffix(bad, "/...")
					if p == bad || (isTree && (p == tree || strings.HasPrefix(p, tree+"/"))) {
						t.Errorf("%s imports %s: placement does no I/O and reads no clock or entropy", path, p)
					}
				}
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			x, ok := sel.X.(*ast.Ident)
			if !ok {
				return true
			}
			switch p := names[x.Name]; {
			case forbiddenCalls[p][sel.Sel.Name]:
				t.Errorf("%s uses %s.%s: time comes in as data", path, p, sel.Sel.Name)
			case p == "math/rand/v2" && !seeded[sel.Sel.Name]:
				t.Errorf("%s uses rand.%s: draw from a generator seeded by the request", path, sel.Sel.Name)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked == 0 {
		t.Fatal("TestPurity checked no source file")
	}
}
