// Package rewrite inserts FlowTrace's span calls into Go source, for the compiler's view only
// (flowtrace-go toolexec). Every edit is an insertion or a same-line replacement, never a new
// line, so each line of the rewritten file is the original line of the same number; a //line
// directive names the original file, so positions, panics and debuggers point at the sources.
package rewrite

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path"
	"sort"
	"strconv"
	"strings"
)

// RuntimePath is the import path of the runtime package the inserted code calls.
const RuntimePath = "github.com/flowtrace/flowtrace/agents/go/flowtrace"

// GRPCPath is the import path of the gRPC bridge inserted into grpc.NewServer / NewClient / Dial.
const GRPCPath = "github.com/flowtrace/flowtrace/agents/go/ftgrpc"

// GinPath is the import path of the gin bridge inserted around gin.New() / gin.Default().
const GinPath = "github.com/flowtrace/flowtrace/agents/go/ftgin"

// EchoPath is the import path of the echo bridge inserted around echo.New().
const EchoPath = "github.com/flowtrace/flowtrace/agents/go/ftecho"

// FiberPath is the import path of the fiber bridge inserted around fiber.New(…).
const FiberPath = "github.com/flowtrace/flowtrace/agents/go/ftfiber"

// ZapPath is the import path of the zap core wrapper inserted into zap.New(core, …).
const ZapPath = "github.com/flowtrace/flowtrace/agents/go/ftzap"

// Options say what to rewrite in one package.
type Options struct {
	ImportPath string
	// Skip reports whether a function (by qualified name, import/path.Type.Method) stays untouched.
	Skip func(qualified string) bool
	// SiteOffset numbers the package's sites uniquely across its files.
	SiteOffset int
	// TrimPath is the compiler's -trimpath argument ("dir=>replacement" rules separated by ';'):
	// code.file.path is rewritten by it as the compiler rewrites the positions (and so the stack
	// traces) of a `go build -trimpath` build. The //line directive keeps the absolute name, which
	// the compiler trims itself.
	TrimPath string
}

// Result is one rewritten file.
type Result struct {
	Source  []byte
	Sites   int      // functions instrumented
	Imports []string // import paths added
}

type edit struct {
	at, end int // replace [at,end) (at==end: insert)
	text    string
	order   int
}

type fileRewriter struct {
	src       []byte
	fset      *token.FileSet
	file      *ast.File
	opts      Options
	edits     []edit
	sites     []string
	imports   map[string]string // local name -> import path, of the file
	ctxName   string            // local name of "context"
	needGin   bool
	needGRPC  bool
	needEcho  bool
	needFiber bool
	needZap   bool
	pkgName   string
}

// File rewrites one file; filename is the original's absolute path (for //line and code.file.path).
// A file with nothing to instrument comes back unchanged (Sites 0, no imports).
func File(filename string, src []byte, opts Options) (Result, error) {
	fset := token.NewFileSet()
	// Object resolution on: a local name that shadows a framework's package (frameworks()) is
	// resolved to its declaration, the package's name is not.
	f, err := parser.ParseFile(fset, filename, src, parser.ParseComments)
	if err != nil {
		return Result{}, err
	}
	if ast.IsGenerated(f) {
		return Result{Source: src}, nil
	}
	r := &fileRewriter{src: src, fset: fset, file: f, opts: opts, imports: map[string]string{}, pkgName: f.Name.Name}
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		name := defaultImportName(p)
		if imp.Name != nil {
			name = imp.Name.Name
		}
		r.imports[name] = p
		if p == "context" {
			r.ctxName = name
		}
	}
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok {
			r.function(fd)
		}
	}
	r.frameworks()
	if len(r.edits) == 0 {
		return Result{Source: src}, nil
	}
	return r.finish(filename), nil
}

func (r *fileRewriter) off(p token.Pos) int { return r.fset.Position(p).Offset }

func (r *fileRewriter) text(n ast.Node) string { return string(r.src[r.off(n.Pos()):r.off(n.End())]) }

func (r *fileRewriter) insert(p token.Pos, text string) {
	r.edits = append(r.edits, edit{at: r.off(p), end: r.off(p), text: text, order: len(r.edits)})
}

func (r *fileRewriter) replace(n ast.Node, text string) {
	r.edits = append(r.edits, edit{at: r.off(n.Pos()), end: r.off(n.End()), text: text, order: len(r.edits)})
}

func recvTypeName(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return ""
	}
	t := fd.Recv.List[0].Type
	for {
		switch x := t.(type) {
		case *ast.StarExpr:
			t = x.X
		case *ast.IndexExpr:
			t = x.X
		case *ast.IndexListExpr:
			t = x.X
		case *ast.ParenExpr:
			t = x.X
		case *ast.Ident:
			return x.Name
		default:
			return ""
		}
	}
}

// hasDirective: functions with compiler directives (//go:nosplit, //go:linkname, …) are left alone.
func hasDirective(fd *ast.FuncDecl) bool {
	if fd.Doc == nil {
		return false
	}
	for _, c := range fd.Doc.List {
		if strings.HasPrefix(c.Text, "//go:") {
			return true
		}
	}
	return false
}

var skippedMethods = map[string]bool{"String": true, "Error": true, "GoString": true, "Format": true}

// shadowsRecover: a parameter or result named recover.
func shadowsRecover(ft *ast.FuncType) bool {
	for _, fl := range []*ast.FieldList{ft.Params, ft.Results} {
		if fl == nil {
			continue
		}
		for _, f := range fl.List {
			for _, id := range f.Names {
				if id.Name == "recover" {
					return true
				}
			}
		}
	}
	return false
}

func (r *fileRewriter) isContext(t ast.Expr) bool {
	sel, ok := t.(*ast.SelectorExpr)
	if !ok || r.ctxName == "" {
		return false
	}
	x, ok := sel.X.(*ast.Ident)
	return ok && x.Name == r.ctxName && sel.Sel.Name == "Context"
}

func (r *fileRewriter) function(fd *ast.FuncDecl) {
	if fd.Body == nil || hasDirective(fd) {
		return
	}
	typeName := recvTypeName(fd)
	name := fd.Name.Name
	if fd.Recv == nil && (name == "init" || (name == "main" && r.pkgName == "main")) {
		if name == "main" {
			// Spans still in the exporter's queue are sent when main returns.
			r.insert(fd.Body.Lbrace+1, " defer __ft.Shutdown();")
		}
		return
	}
	if name == "_" || (fd.Recv != nil && skippedMethods[name]) || (fd.Recv != nil && typeName == "") {
		return
	}
	qualified := r.opts.ImportPath + "." + name
	namespace := r.opts.ImportPath
	spanName := r.pkgName + "." + name
	if typeName != "" {
		qualified = r.opts.ImportPath + "." + typeName + "." + name
		namespace = r.opts.ImportPath + "." + typeName
		spanName = typeName + "." + name
	}
	if r.opts.Skip != nil && r.opts.Skip(qualified) {
		return
	}
	if shadowsRecover(fd.Type) {
		return // the inserted defer calls the builtin recover(), which this function's own name hides
	}

	// Parameters: every one named (unnamed and `_` ones get __ft_p<i>), so they can be captured.
	params, paramFields := r.nameFields(fd.Type.Params, "__ft_p", false)
	ctxParam := ""
	for i, field := range paramFields {
		if r.isContext(field.Type) {
			ctxParam = params[i]
			break
		}
	}
	// Results: named too (unnamed and `_` ones get __ft_r<i>), so the deferred end sees the error.
	// A single unnamed result has no parentheses: naming it adds them.
	errResult := "nil"
	results, resultFields := r.nameFields(fd.Type.Results, "__ft_r", fd.Type.Results != nil && fd.Type.Results.Opening == token.NoPos)
	if n := len(results); n > 0 {
		if id, ok := resultFields[n-1].Type.(*ast.Ident); ok && id.Name == "error" {
			errResult = results[n-1]
		}
	}

	site := fmt.Sprintf("__ft_site%d", r.opts.SiteOffset+len(r.sites))
	pos := r.fset.Position(fd.Pos())
	quoted := make([]string, len(params))
	for i, p := range params {
		quoted[i] = strconv.Quote(p)
	}
	r.sites = append(r.sites, fmt.Sprintf("var %s = __ft.Site{Name: %q, Func: %q, Namespace: %q, Pkg: %q, File: %q, Line: %d, Params: []string{%s}}",
		site, spanName, qualified, namespace, r.opts.ImportPath, TrimPath(pos.Filename, r.opts.TrimPath), pos.Line, strings.Join(quoted, ", ")))

	var b strings.Builder
	if ctxParam != "" {
		fmt.Fprintf(&b, " %s, __ft_sp := __ft.EnterCtx(%s, &%s);", ctxParam, ctxParam, site)
	} else {
		fmt.Fprintf(&b, " __ft_sp := __ft.Enter(&%s);", site)
	}
	b.WriteString(" if __ft_sp != nil {")
	if len(params) > 0 {
		fmt.Fprintf(&b, " if __ft_sp.CaptureArgs() { __ft_sp.Args(%s) };", strings.Join(params, ", "))
	}
	b.WriteString(" defer func() {")
	if len(results) > 0 {
		fmt.Fprintf(&b, " if __ft_sp.CaptureReturn() { __ft_sp.Return(%s) };", strings.Join(results, ", "))
	}
	fmt.Fprintf(&b, " __ft_sp.Exit(recover(), %s) }() };", errResult)
	r.insert(fd.Body.Lbrace+1, b.String())
}

// nameFields names every field of list: an unnamed one gets prefix<i> inserted before its type
// (in parentheses when wrap: a lone unnamed result), a `_` one is renamed prefix<i>. Returns each
// name with the field it belongs to.
func (r *fileRewriter) nameFields(list *ast.FieldList, prefix string, wrap bool) (names []string, fields []*ast.Field) {
	if list == nil {
		return nil, nil
	}
	for _, field := range list.List {
		if len(field.Names) == 0 {
			n := fmt.Sprintf("%s%d", prefix, len(names))
			if wrap {
				r.insert(field.Type.Pos(), "("+n+" ")
				r.insert(field.Type.End(), ")")
			} else {
				r.insert(field.Type.Pos(), n+" ")
			}
			names, fields = append(names, n), append(fields, field)
			continue
		}
		for _, id := range field.Names {
			n := id.Name
			if n == "_" {
				n = fmt.Sprintf("%s%d", prefix, len(names))
				r.replace(id, n)
			}
			names, fields = append(names, n), append(fields, field)
		}
	}
	return names, fields
}

// frameworks wraps gin engines and net/http server handlers with the official OpenTelemetry
// instrumentations (through the runtime's bridges).
func (r *fileRewriter) frameworks() {
	const (
		httpPkg  = "net/http"
		ginPkg   = "github.com/gin-gonic/gin"
		grpcPkg  = "google.golang.org/grpc"
		echoPkg  = "github.com/labstack/echo/v4"
		fiberPkg = "github.com/gofiber/fiber/v2"
		slogPkg  = "log/slog"
		zapPkg   = "go.uber.org/zap"
	)
	// Every local name of each import path (a file may import a package twice, under two names).
	names := map[string]map[string]bool{}
	for name, p := range r.imports {
		if names[p] == nil {
			names[p] = map[string]bool{}
		}
		names[p][name] = true
	}
	if len(names[httpPkg])+len(names[ginPkg])+len(names[grpcPkg])+len(names[echoPkg])+len(names[fiberPkg])+len(names[slogPkg])+len(names[zapPkg]) == 0 {
		return
	}
	// grpc.NewServer(a, b) -> grpc.NewServer(__ftgrpc.ServerOptions(a, b)...); a call that
	// already spreads a slice (opts...) passes it through the same way.
	withOptions := func(x *ast.CallExpr, fn string, first int) {
		if len(x.Args) <= first {
			r.insert(x.Rparen, fmt.Sprintf("%s__ftgrpc.%s()...", map[bool]string{true: ", ", false: ""}[first > 0], fn))
		} else {
			r.insert(x.Args[first].Pos(), "__ftgrpc."+fn+"(")
			if x.Ellipsis.IsValid() {
				r.insert(x.Ellipsis, "...)")
			} else {
				r.insert(x.Args[len(x.Args)-1].End(), ")...")
			}
		}
		r.needGRPC = true
	}
	// isSel: e is pkg.F for one of fns, pkg written under any of its import names (not a local
	// declaration shadowing it).
	isSel := func(e ast.Expr, pkg string, fns ...string) bool {
		sel, ok := e.(*ast.SelectorExpr)
		if !ok {
			return false
		}
		x, ok := sel.X.(*ast.Ident)
		if !ok || !names[pkg][x.Name] || x.Obj != nil {
			return false
		}
		for _, fn := range fns {
			if sel.Sel.Name == fn {
				return true
			}
		}
		return false
	}
	wrapHandler := func(e ast.Expr) {
		r.insert(e.Pos(), "__ft.HTTPHandler(")
		r.insert(e.End(), ")")
	}
	ast.Inspect(r.file, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.CallExpr:
			for _, bridge := range []string{GinPath, EchoPath, FiberPath} {
				if isSel(x.Fun, bridge, "Instrument") {
					return false // already behind the bridge: wrapping again would double the server spans
				}
			}
			switch {
			case isSel(x.Fun, grpcPkg, "NewServer"):
				withOptions(x, "ServerOptions", 0)
			case isSel(x.Fun, grpcPkg, "NewClient", "Dial") && len(x.Args) >= 1:
				withOptions(x, "ClientOptions", 1)
			case isSel(x.Fun, grpcPkg, "DialContext") && len(x.Args) >= 2:
				withOptions(x, "ClientOptions", 2)
			case isSel(x.Fun, ginPkg, "New", "Default"):
				r.insert(x.Pos(), "__ftgin.Instrument(")
				r.insert(x.End(), ")")
				r.needGin = true
			case isSel(x.Fun, echoPkg, "New") && len(x.Args) == 0:
				r.insert(x.Pos(), "__ftecho.Instrument(")
				r.insert(x.End(), ")")
				r.needEcho = true
			case isSel(x.Fun, fiberPkg, "New"):
				r.insert(x.Pos(), "__ftfiber.Instrument(")
				r.insert(x.End(), ")")
				r.needFiber = true
			case isSel(x.Fun, slogPkg, "New") && len(x.Args) == 1:
				// Log correlation: the logger's handler adds the trace and correlation IDs.
				r.insert(x.Args[0].Pos(), "__ft.NewSlogHandler(")
				r.insert(x.Args[0].End(), ")")
			case isSel(x.Fun, zapPkg, "New") && len(x.Args) >= 1:
				r.insert(x.Args[0].Pos(), "__ftzap.Core(")
				r.insert(x.Args[0].End(), ")")
				r.needZap = true
			case isSel(x.Fun, httpPkg, "ListenAndServe") && len(x.Args) == 2:
				wrapHandler(x.Args[1])
			case isSel(x.Fun, httpPkg, "Serve") && len(x.Args) == 2:
				wrapHandler(x.Args[1])
			case isSel(x.Fun, httpPkg, "ListenAndServeTLS") && len(x.Args) == 4:
				wrapHandler(x.Args[3])
			case isSel(x.Fun, httpPkg, "ServeTLS") && len(x.Args) == 4:
				wrapHandler(x.Args[1])
			}
		case *ast.CompositeLit:
			if !isSel(x.Type, httpPkg, "Server") {
				return true
			}
			found := false
			for _, el := range x.Elts {
				if kv, ok := el.(*ast.KeyValueExpr); ok {
					if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Handler" {
						wrapHandler(kv.Value)
						found = true
					}
				}
			}
			if !found && (len(x.Elts) == 0 || isKeyed(x.Elts[0])) {
				r.insert(x.Lbrace+1, "Handler: __ft.HTTPHandler(nil), ")
			}
		}
		return true
	})
}

// defaultImportName is the name an unnamed import binds: the last path element, or the one before
// a major-version suffix (github.com/labstack/echo/v4 is echo; gopkg.in/yaml.v3 is yaml).
func defaultImportName(p string) string {
	name := path.Base(p)
	if len(name) > 1 && name[0] == 'v' && strings.Trim(name[1:], "0123456789") == "" && path.Dir(p) != "." {
		name = path.Base(path.Dir(p))
	}
	if i := strings.Index(name, ".v"); i > 0 && strings.HasPrefix(p, "gopkg.in/") {
		name = name[:i]
	}
	return name
}

// TrimPath applies the compiler's -trimpath rules to file as the compiler does
// (cmd/internal/objabi.ApplyRewrites): the first rule whose directory prefixes file wins; an empty
// replacement makes the path relative to that directory.
func TrimPath(file, rules string) string {
	for _, rule := range strings.Split(rules, ";") {
		prefix, replace := rule, ""
		if j := strings.LastIndex(rule, "=>"); j >= 0 {
			prefix, replace = rule[:j], rule[j+2:]
		}
		if prefix == "" || !hasPathPrefix(file, prefix) {
			continue
		}
		switch {
		case len(file) == len(prefix):
			return replace
		case replace == "":
			return file[len(prefix)+1:]
		default:
			return replace + file[len(prefix):]
		}
	}
	return file
}

// hasPathPrefix: t is s or a directory above it (ASCII case and slash direction ignored, as the
// compiler does).
func hasPathPrefix(s, t string) bool {
	if len(t) > len(s) {
		return false
	}
	for i := 0; i < len(t); i++ {
		cs, ct := s[i], t[i]
		if 'A' <= cs && cs <= 'Z' {
			cs += 'a' - 'A'
		}
		if 'A' <= ct && ct <= 'Z' {
			ct += 'a' - 'A'
		}
		if cs == '\\' {
			cs = '/'
		}
		if ct == '\\' {
			ct = '/'
		}
		if cs != ct {
			return false
		}
	}
	return len(s) == len(t) || s[len(t)] == '/' || s[len(t)] == '\\'
}

func isKeyed(e ast.Expr) bool { _, ok := e.(*ast.KeyValueExpr); return ok }

func (r *fileRewriter) finish(filename string) Result {
	imports := []string{RuntimePath}
	header := fmt.Sprintf("; import __ft %q", RuntimePath)
	for _, b := range []struct {
		needed     bool
		name, path string
	}{{r.needGin, "__ftgin", GinPath}, {r.needGRPC, "__ftgrpc", GRPCPath}, {r.needEcho, "__ftecho", EchoPath}, {r.needFiber, "__ftfiber", FiberPath}, {r.needZap, "__ftzap", ZapPath}} {
		if b.needed {
			imports = append(imports, b.path)
			header += fmt.Sprintf("; import %s %q", b.name, b.path)
		}
	}
	// After the package name, on its line: no line moves.
	r.insert(r.file.Name.End(), header)
	sort.SliceStable(r.edits, func(i, j int) bool {
		if r.edits[i].at != r.edits[j].at {
			return r.edits[i].at > r.edits[j].at
		}
		return r.edits[i].order > r.edits[j].order
	})
	out := append([]byte(nil), r.src...)
	for _, e := range r.edits {
		out = append(out[:e.at], append([]byte(e.text), out[e.end:]...)...)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "//line %s:1\n", filename)
	b.Write(out)
	b.WriteString("\n")
	for _, s := range r.sites {
		b.WriteString(s + "\n")
	}
	b.WriteString("var _ = __ft.Enter\n")
	return Result{Source: b.Bytes(), Sites: len(r.sites), Imports: imports}
}
