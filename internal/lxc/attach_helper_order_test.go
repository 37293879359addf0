package lxc

import (
	"go/ast"
	"go/parser"
	"go/token"
	"testing"
)

// TestAttachHelperRlimitsBeforeCapDrop reads attach_helper.go: in the
// function that calls containerinit.SetRlimits, the call must come before
// every call that drops the helper's own capabilities
// (security.LimitThreadSwitching, LimitProcessSwitching, LimitProcess): raising a hard
// limit takes CAP_SYS_RESOURCE. No integration test can show the order on
// a host whose root lacks CAP_SYS_RESOURCE (raising fails either way).
func TestAttachHelperRlimitsBeforeCapDrop(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "attach_helper.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Body == nil {
			continue
		}
		var limits token.Pos
		var drops []token.Pos
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			pkg, ok := sel.X.(*ast.Ident)
			if !ok {
				return true
			}
			switch pkg.Name + "." + sel.Sel.Name {
			case "containerinit.SetRlimits":
				limits = call.Pos()
			case "security.LimitThreadSwitching", "security.LimitProcessSwitching", "security.LimitProcess":
				drops = append(drops, call.Pos())
			}
			return true
		})
		if limits == token.NoPos {
			continue
		}
		found = true
		if len(drops) == 0 {
			t.Errorf("%s: no capability drop found next to SetRlimits", fn.Name.Name)
		}
		for _, p := range drops {
			if p < limits {
				t.Errorf("%s: the capabilities are dropped (%s) before the limits are set (%s)", fn.Name.Name, fset.Position(p), fset.Position(limits))
			}
		}
	}
	if !found {
		t.Fatal("attach_helper.go calls containerinit.SetRlimits nowhere")
	}
}
