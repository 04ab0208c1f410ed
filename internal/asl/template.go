package asl

import (
	"fmt"
	"strings"
)

// template is a compiled payload template: the value of Parameters,
// ResultSelector or ItemSelector. A field whose name ends in ".$" takes its
// value from a path or an intrinsic function and loses the suffix; every
// other value is copied as it is, objects and arrays being walked for more
// ".$" fields.
type template struct {
	root tnode
}

type tnode interface {
	build(e *env) (any, error)
}

type tliteral struct{ v any }

func (t tliteral) build(*env) (any, error) { return t.v, nil }

type tarray []tnode

func (t tarray) build(e *env) (any, error) {
	out := make([]any, len(t))
	for i, n := range t {
		v, err := n.build(e)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

type tobject []tfield

type tfield struct {
	key  string // without ".$"
	src  string // the key as written, for messages
	expr expr   // for ".$" fields
	node tnode  // for the others
}

func (t tobject) build(e *env) (any, error) {
	out := newObject(len(t))
	for _, f := range t {
		if f.expr == nil {
			v, err := f.node.build(e)
			if err != nil {
				return nil, err
			}
			out.set(f.key, v)
			continue
		}
		v, err := f.expr.eval(e)
		if err != nil {
			return nil, fmt.Errorf("field %q: %w", f.src, err)
		}
		out.set(f.key, v)
	}
	return out, nil
}

func (t *template) build(e *env) (any, error) { return t.root.build(e) }

// compileTemplate compiles a payload template from its decoded definition.
func compileTemplate(v any) (*template, error) {
	n, err := compileNode(v)
	if err != nil {
		return nil, err
	}
	return &template{root: n}, nil
}

func compileNode(v any) (tnode, error) {
	switch t := v.(type) {
	case *object:
		fields := make(tobject, 0, len(t.keys))
		seen := map[string]string{}
		for _, k := range t.keys {
			f := tfield{key: k, src: k}
			if name, ok := strings.CutSuffix(k, ".$"); ok {
				s, isString := t.vals[k].(string)
				if !isString {
					return nil, fmt.Errorf("field %q must be a string (a path or an intrinsic function), not a %s", k, typeName(t.vals[k]))
				}
				x, err := parseExpr(s)
				if err != nil {
					return nil, fmt.Errorf("field %q: %w", k, err)
				}
				f.key, f.expr = name, x
			} else {
				n, err := compileNode(t.vals[k])
				if err != nil {
					return nil, err
				}
				f.node = n
			}
			if other, dup := seen[f.key]; dup {
				return nil, fmt.Errorf("fields %q and %q both produce %q", other, k, f.key)
			}
			seen[f.key] = k
			fields = append(fields, f)
		}
		return fields, nil
	case []any:
		arr := make(tarray, len(t))
		for i, e := range t {
			n, err := compileNode(e)
			if err != nil {
				return nil, err
			}
			arr[i] = n
		}
		return arr, nil
	}
	return tliteral{v}, nil
}

// references reports whether any ".$" field of the template mentions s, as
// a lambda:invoke.waitForTaskToken task must mention $$.Task.Token.
func (t *template) references(s string) bool { return nodeReferences(t.root, s) }

func nodeReferences(n tnode, s string) bool {
	switch t := n.(type) {
	case tobject:
		for _, f := range t {
			if f.expr != nil && exprReferences(f.expr, s) {
				return true
			}
			if f.node != nil && nodeReferences(f.node, s) {
				return true
			}
		}
	case tarray:
		for _, e := range t {
			if nodeReferences(e, s) {
				return true
			}
		}
	}
	return false
}

func exprReferences(x expr, s string) bool {
	switch t := x.(type) {
	case pathExpr:
		return t.p.src == s
	case *callExpr:
		for _, a := range t.args {
			if exprReferences(a, s) {
				return true
			}
		}
	}
	return false
}

// staticField returns the literal value of a top-level field of an object
// template, if the field is present and not computed.
func (t *template) staticField(key string) (v any, present, static bool) {
	obj, ok := t.root.(tobject)
	if !ok {
		return nil, false, false
	}
	for _, f := range obj {
		if f.key != key {
			continue
		}
		if lit, ok := f.node.(tliteral); ok && f.expr == nil {
			return lit.v, true, true
		}
		return nil, true, false
	}
	return nil, false, false
}
