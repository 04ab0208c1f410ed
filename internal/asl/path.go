package asl

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// path is the JSONPath subset the executor implements: "$" (the input) or
// "$$" (the context object) followed by dotted field names ($.a.b), bracket
// field names ($['a b'], $["a"]) and array indexes ($.a[0]). Every such path
// names at most one node, so the same type serves as a Path and as a
// Reference Path. Wildcards, filters, slices, unions, recursive descent and
// functions are refused when the definition is parsed.
type path struct {
	src     string
	context bool // starts with $$
	segs    []segment
}

type segment struct {
	key     string
	index   int
	isIndex bool
}

func (p *path) String() string { return p.src }

// errUnsupported marks features the executor refuses, so that
// callers can say "not supported" rather than "invalid".
var errUnsupported = errors.New("is not supported by the embedded executor")

// parsePath parses a path. allowContext admits "$$" paths.
func parsePath(s string, allowContext bool) (*path, error) {
	p := &path{src: s}
	rest, ok := strings.CutPrefix(s, "$")
	if !ok {
		return nil, fmt.Errorf("path %q must start with $", s)
	}
	if r, ok := strings.CutPrefix(rest, "$"); ok {
		if !allowContext {
			return nil, fmt.Errorf("path %q: the context object ($$) cannot be used here", s)
		}
		p.context = true
		rest = r
	}
	for rest != "" {
		switch rest[0] {
		case '.':
			if strings.HasPrefix(rest, "..") {
				return nil, fmt.Errorf("path %q: recursive descent (..) %w", s, errUnsupported)
			}
			rest = rest[1:]
			end := strings.IndexAny(rest, ".[")
			if end < 0 {
				end = len(rest)
			}
			name := rest[:end]
			if name == "" {
				return nil, fmt.Errorf("path %q: empty field name", s)
			}
			if name == "*" {
				return nil, fmt.Errorf("path %q: the wildcard * %w", s, errUnsupported)
			}
			if strings.HasSuffix(name, "()") {
				return nil, fmt.Errorf("path %q: the function %s %w", s, name, errUnsupported)
			}
			if i := strings.IndexAny(name, "*?@(),:]'\" \t\n\\"); i >= 0 {
				return nil, fmt.Errorf("path %q: character %q in a dotted field name; use bracket notation ['name'] or remove it", s, name[i])
			}
			p.segs = append(p.segs, segment{key: name})
			rest = rest[end:]
		case '[':
			seg, n, err := parseBracket(rest)
			if err != nil {
				return nil, fmt.Errorf("path %q: %w", s, err)
			}
			p.segs = append(p.segs, seg)
			rest = rest[n:]
		default:
			return nil, fmt.Errorf("path %q: unexpected %q", s, rest[0])
		}
	}
	return p, nil
}

// parseBracket parses one [...] segment at the start of s and reports how
// many bytes it used.
func parseBracket(s string) (segment, int, error) {
	if len(s) < 2 {
		return segment{}, 0, errors.New("unterminated [")
	}
	switch q := s[1]; {
	case q == '\'' || q == '"':
		var b strings.Builder
		for i := 2; i < len(s); i++ {
			c := s[i]
			switch {
			case c == '\\' && i+1 < len(s):
				i++
				b.WriteByte(s[i])
			case c == q:
				if i+1 >= len(s) || s[i+1] != ']' {
					return segment{}, 0, errors.New("a quoted field name must be followed by ]: a union ['a','b'] " + errUnsupported.Error())
				}
				return segment{key: b.String()}, i + 2, nil
			default:
				b.WriteByte(c)
			}
		}
		return segment{}, 0, errors.New("unterminated quoted field name")
	case q == '*':
		return segment{}, 0, fmt.Errorf("the wildcard [*] %w", errUnsupported)
	case q == '?':
		return segment{}, 0, fmt.Errorf("a filter expression [?(...)] %w", errUnsupported)
	case q == '(':
		return segment{}, 0, fmt.Errorf("a script expression [(...)] %w", errUnsupported)
	}
	end := strings.IndexByte(s, ']')
	if end < 0 {
		return segment{}, 0, errors.New("unterminated [")
	}
	inner := s[1:end]
	if strings.ContainsAny(inner, ":,") {
		return segment{}, 0, fmt.Errorf("a slice or union [%s] %w", inner, errUnsupported)
	}
	if strings.HasPrefix(inner, "-") {
		return segment{}, 0, fmt.Errorf("a negative index [%s] %w", inner, errUnsupported)
	}
	n, err := strconv.Atoi(inner)
	if err != nil || n < 0 || inner == "" || strings.HasPrefix(inner, "+") {
		return segment{}, 0, fmt.Errorf("[%s] is not an array index", inner)
	}
	return segment{index: n, isIndex: true}, end + 1, nil
}

// get resolves the path against root and reports whether it names a node.
func (p *path) get(root any) (any, bool) {
	cur := root
	for _, s := range p.segs {
		if s.isIndex {
			arr, ok := cur.([]any)
			if !ok || s.index >= len(arr) {
				return nil, false
			}
			cur = arr[s.index]
			continue
		}
		obj, ok := cur.(*object)
		if !ok {
			return nil, false
		}
		if cur, ok = obj.get(s.key); !ok {
			return nil, false
		}
	}
	return cur, true
}

// set returns a copy of root with the node the path names replaced by v,
// creating missing objects along the way, as ResultPath does.
func (p *path) set(root, v any) (any, error) {
	return setSegments(root, p.segs, v)
}

func setSegments(cur any, segs []segment, v any) (any, error) {
	if len(segs) == 0 {
		return v, nil
	}
	s := segs[0]
	if s.isIndex {
		arr, ok := cur.([]any)
		if !ok {
			return nil, fmt.Errorf("[%d] cannot be applied to a %s", s.index, typeName(cur))
		}
		if s.index >= len(arr) {
			return nil, fmt.Errorf("index [%d] is out of range for an array of %d items", s.index, len(arr))
		}
		child, err := setSegments(arr[s.index], segs[1:], v)
		if err != nil {
			return nil, err
		}
		c := append([]any(nil), arr...)
		c[s.index] = child
		return c, nil
	}
	obj, ok := cur.(*object)
	if !ok {
		return nil, fmt.Errorf("field %q cannot be added to a %s", s.key, typeName(cur))
	}
	existing, ok := obj.get(s.key)
	if !ok && len(segs) > 1 {
		if segs[1].isIndex {
			return nil, fmt.Errorf("field %q does not exist, so it cannot be indexed", s.key)
		}
		existing = newObject(1)
	}
	child, err := setSegments(existing, segs[1:], v)
	if err != nil {
		return nil, err
	}
	return obj.with(s.key, child), nil
}
