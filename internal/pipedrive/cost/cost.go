// Package cost is Pipedrive's token cost of every API operation, generated
// from the x-token-cost of its published OpenAPI documents: the rate limit
// budget is counted in these tokens, by the client and by the sandbox alike.
package cost

//go:generate go run ./gencost ../../../../shared/pipedrive/v1.yaml ../../../../shared/pipedrive/v2.yaml table.go

import (
	"strings"
)

// Op is one operation of Pipedrive's API.
type Op struct {
	Method string
	// Path is the templated path with its version prefix, as in
	// "/api/v2/persons/{id}" or "/v1/notes".
	Path        string
	OperationID string
	// Cost is the operation's token cost.
	Cost int
}

// Endpoint names the operation for meters and reports: "GET /api/v2/persons/{id}".
func (o Op) Endpoint() string { return o.Method + " " + o.Path }

type node struct {
	literal map[string]*node
	param   *node
	ops     map[string]Op
}

var root = build()

func build() *node {
	r := &node{}
	for _, o := range table {
		n := r
		for _, seg := range split(o.Path) {
			if strings.HasPrefix(seg, "{") {
				if n.param == nil {
					n.param = &node{}
				}
				n = n.param
				continue
			}
			if n.literal == nil {
				n.literal = map[string]*node{}
			}
			next := n.literal[seg]
			if next == nil {
				next = &node{}
				n.literal[seg] = next
			}
			n = next
		}
		if n.ops == nil {
			n.ops = map[string]Op{}
		}
		n.ops[o.Method] = o
	}
	return r
}

func split(p string) []string { return strings.Split(strings.Trim(p, "/"), "/") }

// Lookup finds the operation a request is for, from its method and its
// path as sent ("/api/v2/persons/42"; a query is ignored). A literal
// segment wins over a path parameter, so /api/v2/persons/search is the
// search, not a person. It returns false for an operation Pipedrive does
// not publish.
func Lookup(method, path string) (Op, bool) {
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	return lookup(root, split(path), strings.ToUpper(method))
}

func lookup(n *node, segs []string, method string) (Op, bool) {
	if len(segs) == 0 {
		o, ok := n.ops[method]
		return o, ok
	}
	if next := n.literal[segs[0]]; next != nil {
		if o, ok := lookup(next, segs[1:], method); ok {
			return o, true
		}
	}
	if n.param != nil && segs[0] != "" {
		return lookup(n.param, segs[1:], method)
	}
	return Op{}, false
}

// All returns every operation, sorted by path then method.
func All() []Op { return append([]Op(nil), table...) }
