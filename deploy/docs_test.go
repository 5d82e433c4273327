package deploy

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// The configuration table in docs/operations.md is the one list of every
// environment variable a Latch program reads. These tests hold it to the
// code (each service's config is parsed, not trusted to a hand-kept list)
// and to what docker-compose.yml, .env.example and deploy/k8s set.

const configDoc = "docs/operations.md"

// programs maps each directory whose code reads the environment to the
// program the table names it by; the longest matching prefix wins, so
// taskctl's variables are not the tasks service's.
var programs = map[string]string{
	"services/auth":              "auth",
	"services/tasks":             "tasks",
	"services/tasks/cmd/taskctl": "taskctl",
	"services/gateway":           "gateway",
}

// services are the programs deployed from images; compose is the Service
// column's name for variables docker-compose.yml reads from .env.
var services = []string{"auth", "tasks", "gateway"}

const compose = "compose"

// sdkVars are read by the OpenTelemetry SDK itself, not by Latch's code:
// every program that reads OTEL_EXPORTER_OTLP_ENDPOINT (pkg/tracing) hands
// the rest of the standard variables to the SDK.
var sdkVars = []string{
	"OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG",
	"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_RESOURCE_ATTRIBUTES",
}

var envName = regexp.MustCompile(`^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$`)

// readers are the calls whose first argument is a variable's name:
// getenv-style functions and envconf.Reader's methods.
var readers = map[string]bool{
	"getenv": true, "Getenv": true, "LookupEnv": true, "env": true,
	"String": true, "Int": true, "Bool": true, "Duration": true, "List": true, "URL": true,
}

// reads is variable -> program -> where the code reads it.
type reads map[string]map[string][]string

func (r reads) add(name, program, where string) {
	if r[name] == nil {
		r[name] = map[string][]string{}
	}
	if !slices.Contains(r[name][program], where) {
		r[name][program] = append(r[name][program], where)
	}
}

// funcKey names a function of a package under pkg/, e.g. "sqldb.PoolFromEnv".
type funcKey string

// pkgFunc is what one function under pkg/ reads itself, and which other
// pkg/ functions it calls (their reads are its reads too).
type pkgFunc struct {
	reads map[string]string // variable -> position
	calls []funcKey
}

// envReads walks one function body (or file) and reports each variable
// name it reads: the first argument of a reader call, any name-shaped
// argument of a same-package function that takes the environment
// (envTakers), and the names of a []string literal ranged over by a loop
// whose body reads the loop variable.
func envReads(fset *token.FileSet, root string, n ast.Node, envTakers map[string]bool, found func(name, where string)) {
	pos := func(p token.Pos) string {
		position := fset.Position(p)
		rel, _ := filepath.Rel(root, position.Filename)
		return fmt.Sprintf("%s:%d", filepath.ToSlash(rel), position.Line)
	}
	lit := func(e ast.Expr) (string, bool) {
		b, ok := e.(*ast.BasicLit)
		if !ok || b.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(b.Value)
		return s, err == nil && envName.MatchString(s)
	}
	ast.Inspect(n, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			name := calleeName(n.Fun)
			if readers[name] && len(n.Args) > 0 {
				if s, ok := lit(n.Args[0]); ok {
					found(s, pos(n.Args[0].Pos()))
				}
			}
			if id, ok := n.Fun.(*ast.Ident); ok && envTakers[id.Name] {
				for _, a := range n.Args {
					if s, ok := lit(a); ok {
						found(s, pos(a.Pos()))
					}
				}
			}
		case *ast.RangeStmt:
			cl, ok := n.X.(*ast.CompositeLit)
			v, vok := n.Value.(*ast.Ident)
			if !ok || !vok || !readsIdent(n.Body, v.Name) {
				return true
			}
			for _, el := range cl.Elts {
				if s, ok := lit(el); ok {
					found(s, pos(el.Pos()))
				}
			}
		}
		return true
	})
}

func calleeName(fun ast.Expr) string {
	switch f := fun.(type) {
	case *ast.Ident:
		return f.Name
	case *ast.SelectorExpr:
		return f.Sel.Name
	}
	return ""
}

// readsIdent: body calls a reader with the identifier name as its first argument.
func readsIdent(body ast.Node, name string) bool {
	found := false
	ast.Inspect(body, func(n ast.Node) bool {
		if c, ok := n.(*ast.CallExpr); ok && readers[calleeName(c.Fun)] && len(c.Args) > 0 {
			if id, ok := c.Args[0].(*ast.Ident); ok && id.Name == name {
				found = true
			}
		}
		return !found
	})
	return found
}

// takesEnv: a function with a *envconf.Reader or a func(string) string parameter.
func takesEnv(fd *ast.FuncDecl) bool {
	for _, f := range fd.Type.Params.List {
		switch t := f.Type.(type) {
		case *ast.StarExpr:
			if s, ok := t.X.(*ast.SelectorExpr); ok && s.Sel.Name == "Reader" {
				return true
			}
		case *ast.FuncType:
			if t.Params.NumFields() == 1 && t.Results.NumFields() == 1 &&
				isIdent(t.Params.List[0].Type, "string") && isIdent(t.Results.List[0].Type, "string") {
				return true
			}
		}
	}
	return false
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

// goFiles parses the non-test Go files under dir, by package directory.
func goFiles(t *testing.T, fset *token.FileSet, dir string) map[string][]*ast.File {
	t.Helper()
	out := map[string][]*ast.File{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		// Test-support packages (identitytest, sqlstoretest, …) are imported
		// only by tests; what they read is no program's configuration.
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == "testdata" || strings.HasSuffix(d.Name(), "test")) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		out[filepath.Dir(path)] = append(out[filepath.Dir(path)], f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// envTakersOf lists a package's functions that take the environment.
func envTakersOf(files []*ast.File) map[string]bool {
	out := map[string]bool{}
	for _, f := range files {
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && takesEnv(fd) {
				out[fd.Name.Name] = true
			}
		}
	}
	return out
}

// pkgImports maps a file's local import names of github.com/latchid/latch/pkg/X to X.
func pkgImports(f *ast.File) map[string]string {
	const prefix = "github.com/latchid/latch/pkg/"
	out := map[string]string{}
	for _, im := range f.Imports {
		p, _ := strconv.Unquote(im.Path.Value)
		if !strings.HasPrefix(p, prefix) {
			continue
		}
		rel := strings.TrimPrefix(p, prefix)
		local := filepath.Base(rel)
		if im.Name != nil {
			local = im.Name.Name
		}
		out[local] = filepath.Base(rel)
	}
	return out
}

// pkgCalls lists the pkg/ functions n calls: through an import, or, when
// n is itself in pkg/ (self is its package's name), in its own package.
func pkgCalls(n ast.Node, imports map[string]string, self string) []funcKey {
	var out []funcKey
	ast.Inspect(n, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			if id, ok := n.X.(*ast.Ident); ok && imports[id.Name] != "" {
				out = append(out, funcKey(imports[id.Name]+"."+n.Sel.Name))
			}
		case *ast.CallExpr:
			if id, ok := n.Fun.(*ast.Ident); ok && self != "" {
				out = append(out, funcKey(self+"."+id.Name))
			}
		}
		return true
	})
	return out
}

// codeReads parses every program's code and pkg/, and returns which
// program reads which variable, and where.
func codeReads(t *testing.T) reads {
	t.Helper()
	root, _ := filepath.Abs("..")
	fset := token.NewFileSet()

	lib := map[funcKey]*pkgFunc{}
	for dir, files := range goFiles(t, fset, filepath.Join(root, "pkg")) {
		takers := envTakersOf(files)
		for _, f := range files {
			imports := pkgImports(f)
			for _, d := range f.Decls {
				fd, ok := d.(*ast.FuncDecl)
				if !ok || fd.Recv != nil || fd.Body == nil {
					continue
				}
				pf := &pkgFunc{reads: map[string]string{}, calls: pkgCalls(fd.Body, imports, filepath.Base(dir))}
				envReads(fset, root, fd.Body, takers, func(name, where string) { pf.reads[name] = where })
				lib[funcKey(filepath.Base(dir)+"."+fd.Name.Name)] = pf
			}
		}
	}
	// libReads: what calling k reads, through the pkg/ functions it calls.
	var libReads func(k funcKey, seen map[funcKey]bool, found func(name, where string))
	libReads = func(k funcKey, seen map[funcKey]bool, found func(name, where string)) {
		pf := lib[k]
		if pf == nil || seen[k] {
			return
		}
		seen[k] = true
		for name, where := range pf.reads {
			found(name, where)
		}
		for _, c := range pf.calls {
			libReads(c, seen, found)
		}
	}

	out := reads{}
	for dir := range programs {
		for pdir, files := range goFiles(t, fset, filepath.Join(root, dir)) {
			rel, _ := filepath.Rel(root, pdir)
			program := programOf(filepath.ToSlash(rel))
			if program != programs[dir] {
				continue // a nested program's own directory; read when its turn comes
			}
			takers := envTakersOf(files)
			for _, f := range files {
				found := func(name, where string) { out.add(name, program, where) }
				envReads(fset, root, f, takers, found)
				seen := map[funcKey]bool{}
				for _, k := range pkgCalls(f, pkgImports(f), "") {
					libReads(k, seen, found)
				}
			}
		}
	}
	for _, program := range sortedKeys(out["OTEL_EXPORTER_OTLP_ENDPOINT"]) {
		for _, v := range sdkVars {
			out.add(v, program, "the OpenTelemetry SDK, set up by pkg/tracing")
		}
	}
	return out
}

func programOf(dir string) string {
	best := ""
	for d := range programs {
		if (dir == d || strings.HasPrefix(dir, d+"/")) && len(d) > len(best) {
			best = d
		}
	}
	return programs[best]
}

// row is one line of the configuration table.
type row struct {
	line     int
	programs []string
}

// configTable parses the table under "## Configuration" in docs/operations.md.
func configTable(t *testing.T) map[string]row {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", configDoc))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	start := slices.Index(lines, "## Configuration")
	if start < 0 {
		t.Fatalf("%s has no \"## Configuration\" heading", configDoc)
	}
	known := append(slices.Clone(services), "taskctl", compose)
	out := map[string]row{}
	inTable := false
	for i := start + 1; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if strings.HasPrefix(l, "## ") {
			break
		}
		if !strings.HasPrefix(l, "|") {
			if inTable {
				break
			}
			continue
		}
		cells := splitRow(l)
		if !inTable {
			if len(cells) != 4 || cells[0] != "Variable" || cells[1] != "Service" || cells[2] != "Default" || cells[3] != "Meaning" {
				t.Fatalf("%s:%d: the configuration table's header must be | Variable | Service | Default | Meaning |, got %q", configDoc, i+1, l)
			}
			inTable = true
			i++ // the |---| line
			continue
		}
		at := fmt.Sprintf("%s:%d", configDoc, i+1)
		if len(cells) != 4 {
			t.Errorf("%s: %d cells, want 4 (Variable, Service, Default, Meaning)", at, len(cells))
			continue
		}
		name := strings.Trim(cells[0], "`")
		if !envName.MatchString(name) || cells[0] != "`"+name+"`" {
			t.Errorf("%s: the Variable cell must be one variable in backticks, got %q", at, cells[0])
			continue
		}
		if prev, dup := out[name]; dup {
			t.Errorf("%s: %s has a second row (the first is at line %d)", at, name, prev.line)
		}
		var ps []string
		for _, p := range strings.Split(cells[1], ",") {
			p = strings.TrimSpace(p)
			if !slices.Contains(known, p) {
				t.Errorf("%s: %s's Service cell names %q; use %s", at, name, p, strings.Join(known, ", "))
			}
			ps = append(ps, p)
		}
		if cells[2] == "" || cells[3] == "" {
			t.Errorf("%s: %s needs a Default (– when there is none) and a Meaning", at, name)
		}
		out[name] = row{line: i + 1, programs: ps}
	}
	if len(out) == 0 {
		t.Fatalf("%s: the configuration table has no rows", configDoc)
	}
	return out
}

// splitRow splits a Markdown table row on its unescaped pipes.
func splitRow(l string) []string {
	l = strings.TrimSuffix(strings.TrimPrefix(l, "|"), "|")
	var cells []string
	var cur strings.Builder
	for i := 0; i < len(l); i++ {
		if l[i] == '\\' && i+1 < len(l) && l[i+1] == '|' {
			cur.WriteByte('|')
			i++
			continue
		}
		if l[i] == '|' {
			cells = append(cells, strings.TrimSpace(cur.String()))
			cur.Reset()
			continue
		}
		cur.WriteByte(l[i])
	}
	return append(cells, strings.TrimSpace(cur.String()))
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestCodeReadsWhatTheParserExpects keeps the other tests from passing
// blind: each way the code reads a variable must still be seen.
func TestCodeReadsWhatTheParserExpects(t *testing.T) {
	r := codeReads(t)
	for _, c := range []struct{ name, program, how string }{
		{"PORT", "auth", "envconf Reader.Int in config.go"},
		{"PORT", "tasks", "envconf Reader.Int in config.go"},
		{"PORT", "gateway", "envconf Reader.Int in config.go"},
		{"AUTH_SECRET", "auth", "a []string of names ranged over, each passed to getenv"},
		{"BETTER_AUTH_SECRETS", "auth", "getenv called directly"},
		{"DB_MAX_OPEN_CONNS", "tasks", "pkg/sqldb.PoolFromEnv, called from config.go"},
		{"OTEL_EXPORTER_OTLP_PROTOCOL", "gateway", "pkg/tracing.FromEnv's loop over names"},
		{"OTEL_TRACES_SAMPLER", "auth", "the OpenTelemetry SDK, through pkg/tracing"},
		{"TASKS_URL", "gateway", "a same-package function taking getenv and the name"},
		{"TASKS_GRPC_ADDR", "taskctl", "taskctl's env helper"},
	} {
		if len(r[c.name][c.program]) == 0 {
			t.Errorf("the parser no longer sees %s read by %s (%s): fix codeReads before trusting TestConfigTable", c.name, c.program, c.how)
		}
	}
	if len(r["TASKS_GRPC_ADDR"]["tasks"]) > 0 {
		t.Errorf("taskctl's TASKS_GRPC_ADDR is attributed to the tasks service")
	}
}

// TestConfigTable: every variable a program reads has a row naming that
// program, and every row names only programs that read it.
func TestConfigTable(t *testing.T) {
	r := codeReads(t)
	table := configTable(t)
	for _, name := range sortedKeys(r) {
		row, ok := table[name]
		for _, program := range sortedKeys(r[name]) {
			where := strings.Join(r[name][program], ", ")
			switch {
			case !ok:
				t.Errorf("%s is read by %s (%s) but has no row in the configuration table of %s", name, program, where, configDoc)
			case !slices.Contains(row.programs, program):
				t.Errorf("%s:%d: %s's Service cell says %q, but %s reads it too (%s): add %s", configDoc, row.line, name, strings.Join(row.programs, ", "), program, where, program)
			}
		}
	}
	composeReads := composeInterpolations(t)
	for _, name := range sortedKeys(table) {
		row := table[name]
		for _, p := range row.programs {
			switch {
			case p == compose && !composeReads[name]:
				t.Errorf("%s:%d: %s's Service cell says compose, but docker-compose.yml never reads ${%s}", configDoc, row.line, name, name)
			case p != compose && len(r[name][p]) == 0:
				t.Errorf("%s:%d: %s's Service cell says %s, but no code of %s reads %s (stale row, or a reader the parser does not know)", configDoc, row.line, name, p, p, name)
			}
		}
	}
}

func composeInterpolations(t *testing.T) map[string]bool {
	t.Helper()
	raw, err := os.ReadFile("../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, m := range regexp.MustCompile(`\$\{([A-Z0-9_]+)`).FindAllStringSubmatch(string(raw), -1) {
		out[m[1]] = true
	}
	return out
}

// serviceOfImage names the Latch service an image holds ("" for others,
// such as postgres and redis, whose variables are their images' own).
func serviceOfImage(image string) string {
	m := regexp.MustCompile(`(?:^|/)latch-([a-z]+):`).FindStringSubmatch(image)
	if m == nil || !slices.Contains(services, m[1]) {
		return ""
	}
	return m[1]
}

// TestDeployedVariables: whatever compose, .env.example or Kubernetes sets
// is in the table and read by the service it is given to.
func TestDeployedVariables(t *testing.T) {
	r := codeReads(t)
	table := configTable(t)
	check := func(where, name, service string) {
		if _, ok := table[name]; !ok {
			t.Errorf("%s sets %s for %s, and %s has no row for it", where, name, service, configDoc)
		}
		if len(r[name][service]) == 0 {
			t.Errorf("%s sets %s for %s, which services/%s never reads", where, name, service, service)
		}
	}

	composeReads := composeInterpolations(t)
	docs := parseAll(t, "../docker-compose.yml")
	for _, name := range sortedKeys(asObj(get(docs[0], "services"))) {
		s := get(docs[0], "services", name)
		svc := serviceOfImage(str(s, "image"))
		if svc == "" {
			continue
		}
		for _, k := range sortedKeys(asObj(get(s, "environment"))) {
			check("docker-compose.yml (service "+name+")", k, svc)
		}
	}

	example, err := os.ReadFile("../.env.example")
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(string(example), "\n") {
		k, _, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		k = strings.TrimSpace(k)
		row, inTable := table[k]
		switch {
		case !composeReads[k]:
			t.Errorf(".env.example:%d documents %s, which docker-compose.yml never reads", i+1, k)
		case !inTable:
			t.Errorf(".env.example:%d documents %s, and %s has no row for it", i+1, k, configDoc)
		case !slices.Contains(row.programs, compose):
			t.Errorf("%s:%d: %s is read from .env by docker-compose.yml: add compose to its Service cell", configDoc, row.line, k)
		}
	}

	// Kubernetes: each container's env, and the ConfigMaps it loads whole
	// (the base; the example overlay only changes values).
	files, _ := filepath.Glob("k8s/base/*.yaml")
	configMaps := map[string]map[string]string{} // name -> key -> file
	type loader struct{ service, file string }
	loads := map[string][]loader{} // ConfigMap name -> who loads it
	for _, f := range files {
		for _, d := range parseAll(t, f) {
			if str(d, "kind") == "ConfigMap" {
				keys := map[string]string{}
				for k := range asObj(get(d, "data")) {
					keys[k] = "deploy/" + f
				}
				configMaps[str(d, "metadata", "name")] = keys
				continue
			}
			for _, c := range list(d, "spec", "template", "spec", "containers") {
				svc := serviceOfImage(str(c, "image"))
				if svc == "" {
					continue
				}
				where := fmt.Sprintf("deploy/%s (%s %s, container %s)", f, str(d, "kind"), str(d, "metadata", "name"), str(c, "name"))
				for _, e := range list(c, "env") {
					check(where, str(e, "name"), svc)
				}
				for _, ef := range list(c, "envFrom") {
					if cm := str(ef, "configMapRef", "name"); cm != "" {
						loads[cm] = append(loads[cm], loader{svc, where})
					}
				}
			}
		}
	}
	if len(loads) == 0 || len(configMaps) == 0 {
		t.Fatalf("deploy/k8s/base: found no ConfigMap loaded with envFrom; the checks below would pass blind")
	}
	for _, cm := range sortedKeys(loads) {
		keys, ok := configMaps[cm]
		if !ok {
			t.Errorf("%s loads ConfigMap %s, which deploy/k8s/base does not define", loads[cm][0].file, cm)
			continue
		}
		for _, k := range sortedKeys(keys) {
			if _, ok := table[k]; !ok {
				t.Errorf("%s: ConfigMap %s sets %s, and %s has no row for it", keys[k], cm, k, configDoc)
			}
			var who []string
			readBySome := false
			for _, l := range loads[cm] {
				who = append(who, l.service)
				readBySome = readBySome || len(r[k][l.service]) > 0
			}
			if !readBySome {
				t.Errorf("%s: ConfigMap %s sets %s for %s, none of which reads it", keys[k], cm, k, strings.Join(who, ", "))
			}
		}
	}
}

// docPages are the pages whose relative links must resolve: the front
// page, the developers' guide, docs/ and the benchmarks' pages.
func docPages(t *testing.T) []string {
	t.Helper()
	pages := []string{"README.md", "DEVELOPERS.md"}
	for _, glob := range []string{"docs/*.md", "bench/README.md", "bench/*/README.md"} {
		m, err := filepath.Glob(filepath.Join("..", glob))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range m {
			rel, _ := filepath.Rel("..", p)
			pages = append(pages, filepath.ToSlash(rel))
		}
	}
	return pages
}

var (
	fence      = regexp.MustCompile("(?ms)^```.*?^```")
	inlineCode = regexp.MustCompile("`[^`\n]*`")
	mdLink     = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	heading    = regexp.MustCompile(`(?m)^#{1,6} +(.+?) *$`)
	notSlug    = regexp.MustCompile(`[^\p{L}\p{N}_\- ]`)
)

// anchors are the fragments GitHub gives a page's headings: lower case,
// punctuation dropped, spaces as hyphens, repeats numbered.
func anchors(md string) map[string]bool {
	out := map[string]bool{}
	for _, m := range heading.FindAllStringSubmatch(fence.ReplaceAllString(md, ""), -1) {
		slug := strings.ReplaceAll(notSlug.ReplaceAllString(strings.ToLower(m[1]), ""), " ", "-")
		for i := 0; ; i++ {
			s := slug
			if i > 0 {
				s = fmt.Sprintf("%s-%d", slug, i)
			}
			if !out[s] {
				out[s] = true
				break
			}
		}
	}
	return out
}

// TestDocLinks: every relative link in the documentation names a file
// that exists and, for a Markdown page, a heading it has.
func TestDocLinks(t *testing.T) {
	checked := 0
	for _, page := range docPages(t) {
		b, err := os.ReadFile(filepath.Join("..", page))
		if err != nil {
			t.Fatal(err)
		}
		text := inlineCode.ReplaceAllString(fence.ReplaceAllString(string(b), ""), "")
		for _, m := range mdLink.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path, frag, _ := strings.Cut(target, "#")
			file := filepath.Join("..", filepath.Dir(page), path)
			if path == "" {
				file = filepath.Join("..", page)
			}
			checked++
			linked, err := os.ReadFile(file)
			if err != nil {
				if st, serr := os.Stat(file); serr == nil && st.IsDir() && frag == "" {
					continue
				}
				t.Errorf("%s links to %s, which does not exist", page, target)
				continue
			}
			if frag != "" && strings.HasSuffix(file, ".md") && !anchors(string(linked))[frag] {
				t.Errorf("%s links to %s: %s has no heading with the anchor #%s", page, target, path, frag)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no relative links found: the link pattern is broken")
	}
}

// TestFrontPage: README.md stays a front page, and the two commands a new
// machine needs are the first thing it shows.
func TestFrontPage(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(b) >= 12*1024 {
		t.Errorf("README.md is %d bytes; keep it under 12 KB and move reference material to docs/ or bench/README.md", len(b))
	}
	first := fence.FindString(string(b))
	if !strings.Contains(first, "make run") || !strings.Contains(first, "make test") {
		t.Errorf("README.md's first code block must show make run and make test; it is:\n%s", first)
	}
}
