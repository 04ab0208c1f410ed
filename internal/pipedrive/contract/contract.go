// Package contract checks HTTP traffic against Pipedrive's published OpenAPI
// documents (shared/pipedrive/v1.yaml and v2.yaml), so that the API client and
// the in-memory sandbox are both held to Pipedrive's contract rather than to
// each other.
//
// Tests use it through ForTest: the client's tests wrap their RoundTripper with
// Transport, the sandbox's tests wrap its handler with Middleware, and every
// violation is reported with tb.Errorf. The deviations from the documents that
// the project tolerates are listed, with their reasons, in Quirks.
package contract

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// Validator checks HTTP traffic against Pipedrive's OpenAPI documents. It is
// built once by Load and is safe for concurrent use.
type Validator struct {
	apis       []*api
	deprecated *deprecatedIndex
	envelope   *openapi3.Schema
}

// api is one of Pipedrive's documents, served under its path prefix.
type api struct {
	name   string // "v1" or "v2"
	prefix string // "/v1" or "/api/v2"
	doc    *openapi3.T
	router routers.Router
	opts   *openapi3filter.Options
}

// The documents' file names inside the spec directory, and the prefixes their
// servers (https://api.pipedrive.com/api/v2 and https://api.pipedrive.com/v1)
// put in front of every path.
const (
	v1File           = "v1.yaml"
	v2File           = "v2.yaml"
	deprecatedV1File = "2026-01-14/v1.yaml"
	v1Prefix         = "/v1"
	v2Prefix         = "/api/v2"
)

// Load reads v1.yaml and v2.yaml from dir (and 2026-01-14/v1.yaml, used only
// to recognise retired v1 calls). v2 operations are matched under the path
// prefix "/api/v2" and v1 operations under "/v1", whatever the host, so the
// validator works for https://api.pipedrive.com and for a local sandbox alike.
//
// Load returns an error wrapping fs.ErrNotExist when a document is missing, and
// an error naming the document when it does not parse or validate.
func Load(dir string) (*Validator, error) {
	v := &Validator{}
	for _, spec := range []struct{ name, file, prefix string }{
		{"v2", v2File, v2Prefix},
		{"v1", v1File, v1Prefix},
	} {
		a, err := loadAPI(filepath.Join(dir, spec.file), spec.name, spec.prefix)
		if err != nil {
			return nil, err
		}
		v.apis = append(v.apis, a)
	}
	dep, err := loadDeprecated(filepath.Join(dir, deprecatedV1File), v.apis)
	if err != nil {
		return nil, err
	}
	v.deprecated = dep
	v.envelope, err = errorEnvelopeSchema()
	if err != nil {
		return nil, fmt.Errorf("build error envelope schema: %w", err)
	}
	return v, nil
}

func loadAPI(path, name, prefix string) (*api, error) {
	doc, err := loadDoc(path)
	if err != nil {
		return nil, err
	}
	// Operations are matched by path prefix, not by host: the router sees the
	// path with the prefix already removed, so the documents' absolute servers
	// must not take part in routing.
	doc.Servers = nil
	allowNullNextCursor(doc) // quirkNullNextCursor
	// NewRouter validates the document. The v1 examples write timestamps as
	// "2019-02-04 13:58:03" where the schemas say date-time (see SOURCE.md), so
	// examples are not checked.
	router, err := legacy.NewRouter(doc, openapi3.DisableExamplesValidation())
	if err != nil {
		return nil, fmt.Errorf("route Pipedrive %s document %s: %w", name, path, err)
	}
	opts := &openapi3filter.Options{
		AuthenticationFunc:                authenticate,
		SkipSettingDefaults:               true, // validation must never change what is sent
		RejectWhenRequestBodyNotSpecified: true,
		IncludeResponseStatus:             true,
	}
	opts.WithCustomSchemaErrorFunc(schemaReason)
	if name == "v1" {
		opts.SchemaValidationOptions = append(opts.SchemaValidationOptions,
			openapi3.WithStringFormatValidator("date-time", v1DateTime))
	}
	return &api{name: name, prefix: prefix, doc: doc, router: router, opts: opts}, nil
}

func loadDoc(path string) (*openapi3.T, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("load Pipedrive document: %w", err)
	}
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = false
	loader.Context = context.Background()
	doc, err := loader.LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("load Pipedrive document %s: %w", path, err)
	}
	return doc, nil
}

// Operations lists every published operation the validator accepts, sorted,
// as "METHOD /prefix/path" ("POST /api/v2/persons", "GET /v1/users/me").
func (v *Validator) Operations() []string {
	var ops []string
	for _, a := range v.apis {
		for path, item := range a.doc.Paths.Map() {
			for method := range item.Operations() {
				ops = append(ops, method+" "+a.prefix+path)
			}
		}
	}
	sort.Strings(ops)
	return ops
}

// SpecDir finds Pipedrive's documents: it walks up from the working directory
// to the directory holding go.mod (the module root) and returns
// <root>/../shared/pipedrive. It returns an error naming where it looked when
// there is no module root or the directory has no v2.yaml.
func SpecDir() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find Pipedrive spec directory: %w", err)
	}
	root := wd
	for {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(root)
		if parent == root {
			return "", fmt.Errorf("find Pipedrive spec directory: no go.mod in %s or any parent: %w", wd, os.ErrNotExist)
		}
		root = parent
	}
	dir := filepath.Join(filepath.Dir(root), "shared", "pipedrive")
	if _, err := os.Stat(filepath.Join(dir, v2File)); err != nil {
		return "", fmt.Errorf("find Pipedrive spec directory: looked in %s (module root %s): %w", dir, root, err)
	}
	return dir, nil
}

// apiFor returns the document serving path and the path with its prefix removed.
func (v *Validator) apiFor(path string) (*api, string, bool) {
	for _, a := range v.apis {
		if rest, ok := strings.CutPrefix(path, a.prefix); ok && (rest == "" || rest[0] == '/') {
			return a, rest, true
		}
	}
	return nil, "", false
}
