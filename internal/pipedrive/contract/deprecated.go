package contract

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// deprecatedIndex recognises v1 calls that have a v2 replacement: the
// operations the 2026-01-14 v1 document still described and the current one
// no longer does (out of support since August 2026), and the operations the
// current v1 document marks deprecated that v2 offers at the same path.
type deprecatedIndex struct {
	// ops are matched against calls no current operation routes, literal
	// segments before parameters ("/persons/search" before "/persons/{id}").
	ops []deprecatedOp
	// current are the deprecated operations the current v1 document still
	// routes, by "METHOD normalised template".
	current map[string]deprecatedOp
}

type deprecatedOp struct {
	method   string
	segments []string // "" for a path parameter
	template string   // "/v1/persons/{id}"
	use      string   // the v2 replacement, as "PATCH /api/v2/persons/{id}", or ""
}

var httpMethods = []string{"get", "put", "post", "delete", "patch", "head", "options", "trace"}

func loadDeprecated(path string, apis []*api) (*deprecatedIndex, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load retired v1 document: %w", err)
	}
	var old struct {
		Paths map[string]map[string]yaml.Node `yaml:"paths"`
	}
	if err := yaml.Unmarshal(data, &old); err != nil {
		return nil, fmt.Errorf("load retired v1 document %s: %w", path, err)
	}
	var v1, v2 *api
	for _, a := range apis {
		switch a.name {
		case "v1":
			v1 = a
		case "v2":
			v2 = a
		}
	}
	current := map[string]bool{}
	for p, item := range v1.doc.Paths.Map() {
		for method := range item.Operations() {
			current[method+" "+normalise(p)] = true
		}
	}
	replacements := map[string]string{}
	for p, item := range v2.doc.Paths.Map() {
		for method := range item.Operations() {
			replacements[method+" "+normalise(p)] = method + " " + v2.prefix + p
		}
	}
	replacement := func(method, p string) string {
		if r, ok := replacements[method+" "+normalise(p)]; ok {
			return r
		}
		if method == "PUT" { // v2 updates with PATCH
			return replacements["PATCH "+normalise(p)]
		}
		return ""
	}

	idx := &deprecatedIndex{current: map[string]deprecatedOp{}}
	newOp := func(method, p string) deprecatedOp {
		return deprecatedOp{
			method:   method,
			segments: strings.Split(normalise(p), "/"),
			template: v1.prefix + p,
			use:      replacement(method, p),
		}
	}
	for p, item := range old.Paths {
		for _, m := range httpMethods {
			if _, ok := item[m]; !ok {
				continue
			}
			method := strings.ToUpper(m)
			if !current[method+" "+normalise(p)] {
				idx.ops = append(idx.ops, newOp(method, p))
			}
		}
	}
	for p, item := range v1.doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.Deprecated && replacement(method, p) != "" {
				idx.current[method+" "+normalise(p)] = newOp(method, p)
			}
		}
	}
	sort.Slice(idx.ops, func(i, j int) bool {
		pi, pj := strings.Count(idx.ops[i].template, "{"), strings.Count(idx.ops[j].template, "{")
		if pi != pj {
			return pi < pj
		}
		return idx.ops[i].method+idx.ops[i].template < idx.ops[j].method+idx.ops[j].template
	})
	return idx, nil
}

// normalise writes every path parameter as "{}".
func normalise(template string) string {
	segs := strings.Split(template, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
			segs[i] = "{}"
		}
	}
	return strings.Join(segs, "/")
}

// routed returns the deprecated operation a call routed to the current v1
// template calls, if any.
func (idx *deprecatedIndex) routed(method, template string) (deprecatedOp, bool) {
	op, ok := idx.current[method+" "+normalise(template)]
	return op, ok
}

// match returns the retired operation that method and path (without the /v1
// prefix) call, if any.
func (idx *deprecatedIndex) match(method, path string) (deprecatedOp, bool) {
	segs := strings.Split(strings.TrimSuffix(path, "/"), "/")
	for _, op := range idx.ops {
		if op.method != method || len(op.segments) != len(segs) {
			continue
		}
		ok := true
		for i, s := range op.segments {
			if s != "{}" && s != segs[i] || s == "{}" && segs[i] == "" {
				ok = false
				break
			}
		}
		if ok {
			return op, true
		}
	}
	return deprecatedOp{}, false
}

func (op deprecatedOp) reason() string {
	if op.use != "" {
		return fmt.Sprintf("%s %s is a deprecated v1 endpoint: use %s", op.method, op.template, op.use)
	}
	return fmt.Sprintf("%s %s is a retired v1 endpoint: use the v2 API", op.method, op.template)
}
