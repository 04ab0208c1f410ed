package mapping

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The decoder walks a yaml.Node tree by hand rather than decoding into
// structs: that gives a line for every key and value, lets it report every
// problem instead of the first, and lets it lay the file over the default
// entry by entry.

// maxVisits bounds the nodes visited, so that aliases (*name) nested to expand
// exponentially cannot make reading a small file take forever. The default
// configuration has about 250 values; a firm's is unlikely to reach 5,000.
const maxVisits = 50_000

type decoder struct {
	lines    map[string]int // setting path -> line it is written on
	problems []Problem
	visits   int
	tooMany  bool
}

func newDecoder() *decoder {
	return &decoder{lines: map[string]int{}}
}

func (d *decoder) add(line int, path, format string, args ...any) {
	d.problems = append(d.problems, Problem{Line: line, Path: path, Message: fmt.Sprintf(format, args...)})
}

// document parses data and returns the top-level mapping, or nil after
// reporting why there is none.
func (d *decoder) document(data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.add(0, "", "the file is empty: write at least \"version: 1\", or run conveyor init-config for a commented default")
		} else {
			d.syntax(err)
		}
		return nil
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		d.add(next.Line, "", "a second YAML document starts here (\"---\"); the configuration is one document")
		return nil
	case !errors.Is(err, io.EOF):
		d.syntax(err)
		return nil
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	root = d.resolve(root)
	switch {
	case root.Kind == yaml.DocumentNode || isNull(root):
		d.add(0, "", "the file is empty: write at least \"version: 1\", or run conveyor init-config for a commented default")
		return nil
	case root.Kind != yaml.MappingNode:
		d.add(root.Line, "", "the file must be a mapping of settings (\"version: 1\", \"headers:\" …), not %s", kindName(root))
		return nil
	}
	return root
}

// syntax reports a YAML syntax error, taking its line out of the message.
// The YAML library's line is where the construct it was reading started, or
// one line before that (go-yaml/yaml#205), hence "at or after".
func (d *decoder) syntax(err error) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, tail, ok := strings.Cut(rest, ": "); ok {
			if n, err := strconv.Atoi(num); err == nil {
				line, msg = n, tail
			}
		}
	}
	if line > 0 {
		d.add(line, "", "YAML syntax error at or after this line: %s", msg)
		return
	}
	d.add(0, "", "YAML syntax error: %s", msg)
}

// resolve follows aliases and counts the visit.
func (d *decoder) resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	d.visits++
	return n
}

func (d *decoder) exhausted(line int) bool {
	if d.visits <= maxVisits {
		return false
	}
	if !d.tooMany {
		d.add(line, "", "the file expands to too many values (through aliases *name); write the values out")
		d.tooMany = true
	}
	return true
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if isNull(n) {
			return "empty"
		}
		return strconv.Quote(n.Value)
	}
	return "a document"
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func item(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

type entry struct {
	key  string
	line int
	path string
	val  *yaml.Node
}

// entries returns the key/value pairs of mapping n, recording their lines and
// reporting duplicate, merge (<<) and non-text keys. A null n has none.
func (d *decoder) entries(n *yaml.Node, path string) []entry {
	if isNull(n) || d.exhausted(n.Line) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.add(n.Line, path, "must be a mapping (\"key: value\" lines), not %s", kindName(n))
		return nil
	}
	var out []entry
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := d.resolve(n.Content[i]), d.resolve(n.Content[i+1])
		switch {
		case k.Kind != yaml.ScalarNode:
			d.add(k.Line, path, "a key must be plain text, not %s", kindName(k))
			continue
		case k.ShortTag() == "!!merge":
			d.add(k.Line, path, "merge keys (<<) are not supported: write the settings out")
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.add(k.Line, path, "%q is written twice (first on line %d); keep one", k.Value, first)
			continue
		}
		seen[k.Value] = k.Line
		p := join(path, k.Value)
		d.lines[p] = k.Line
		out = append(out, entry{key: k.Value, line: k.Line, path: p, val: v})
	}
	return out
}

// unknown reports a key the schema does not have.
func (d *decoder) unknown(e entry, parent string, known []string) {
	hint := suggest(e.key, known)
	if hint == "" {
		hint = "; expected one of " + strings.Join(known, ", ")
	}
	d.add(e.line, parent, "unknown key %q%s", e.key, hint)
}

// list returns the items of sequence n; a null n has none.
func (d *decoder) list(n *yaml.Node, path string) []*yaml.Node {
	if isNull(n) || d.exhausted(n.Line) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.add(n.Line, path, "must be a list ([a, b] or \"- item\" lines), not %s", kindName(n))
		return nil
	}
	out := make([]*yaml.Node, 0, len(n.Content))
	for i, c := range n.Content {
		c = d.resolve(c)
		d.lines[item(path, i)] = c.Line
		out = append(out, c)
	}
	return out
}

// str returns scalar n's text; null is "".
func (d *decoder) str(n *yaml.Node, path string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.add(n.Line, path, "must be a single value, not %s", kindName(n))
		return "", false
	}
	if isNull(n) {
		return "", true
	}
	return n.Value, true
}

// strs returns a list of texts; null is an empty list. The result is nil when empty.
func (d *decoder) strs(n *yaml.Node, path string) ([]string, bool) {
	if n.Kind != yaml.SequenceNode && !isNull(n) {
		d.add(n.Line, path, "must be a list ([a, b] or \"- item\" lines), not %s", kindName(n))
		return nil, false
	}
	var out []string
	ok := true
	for i, c := range d.list(n, path) {
		s, good := d.str(c, item(path, i))
		ok = ok && good
		out = append(out, s)
	}
	return out, ok
}

// integer returns scalar n as a whole number.
func (d *decoder) integer(n *yaml.Node, path string) (int, bool) {
	var v int
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&v) != nil {
		d.add(n.Line, path, "must be a whole number, not %s", kindName(n))
		return 0, false
	}
	return v, true
}

var topKeys = []string{"version", "headers", "matter_types", "statuses", "activity_types", "pipelines", "fields", "owners", "policies", "staging", "costs"}

// config lays the top-level mapping root over c.
func (d *decoder) config(root *yaml.Node, c *Config) {
	for _, e := range d.entries(root, "") {
		if isNull(e.val) {
			continue // as if left out: keep the default
		}
		switch e.key {
		case "version":
			if v, ok := d.integer(e.val, e.path); ok {
				c.Version = v
			}
		case "headers":
			if c.Headers == nil {
				c.Headers = map[string]map[string][]string{}
			}
			for _, t := range d.entries(e.val, e.path) {
				if isNull(t.val) {
					continue
				}
				if c.Headers[t.key] == nil {
					c.Headers[t.key] = map[string][]string{}
				}
				d.listMap(t.val, t.path, c.Headers[t.key])
			}
		case "matter_types":
			c.MatterTypes = d.matterTypes(e.val, e.path)
		case "statuses":
			if c.Statuses == nil {
				c.Statuses = map[string][]string{}
			}
			d.listMap(e.val, e.path, c.Statuses)
		case "activity_types":
			if c.ActivityTypes == nil {
				c.ActivityTypes = map[string][]string{}
			}
			d.listMap(e.val, e.path, c.ActivityTypes)
		case "pipelines":
			c.Pipelines = d.pipelines(e.val, e.path)
		case "fields":
			d.fields(e.val, e.path, &c.Fields)
		case "owners":
			d.owners(e.val, e.path, &c.Owners)
		case "policies":
			d.policies(e.val, e.path, &c.Policies)
		case "staging":
			d.staging(e.val, e.path, &c.Staging)
		case "costs":
			// The report's cost worksheet reads and checks these figures.
			var m map[string]any
			if err := e.val.Decode(&m); err != nil {
				d.add(e.val.Line, e.path, "want a mapping of figures (see the report's cost worksheet)")
			}
			c.Costs = m
		default:
			d.unknown(e, "", topKeys)
		}
	}
}

// listMap lays a mapping of name -> list of texts over m, entry by entry.
func (d *decoder) listMap(n *yaml.Node, path string, m map[string][]string) {
	for _, e := range d.entries(n, path) {
		if isNull(e.val) {
			continue
		}
		if v, ok := d.strs(e.val, e.path); ok {
			m[e.key] = v
		}
	}
}

func (d *decoder) matterTypes(n *yaml.Node, path string) []MatterType {
	var out []MatterType
	for i, it := range d.list(n, path) {
		p := item(path, i)
		if it.Kind != yaml.MappingNode && !isNull(it) {
			d.add(it.Line, p, "must be a mapping with name and aliases, not %s", kindName(it))
			continue
		}
		var mt MatterType
		for _, e := range d.entries(it, p) {
			switch e.key {
			case "name":
				mt.Name, _ = d.str(e.val, e.path)
			case "aliases":
				mt.Aliases, _ = d.strs(e.val, e.path)
			default:
				d.unknown(e, p, []string{"name", "aliases"})
			}
		}
		out = append(out, mt)
	}
	return out
}

func (d *decoder) pipelines(n *yaml.Node, path string) []Pipeline {
	var out []Pipeline
	for i, it := range d.list(n, path) {
		p := item(path, i)
		if it.Kind != yaml.MappingNode && !isNull(it) {
			d.add(it.Line, p, "must be a mapping with name, matter_types, stages and fallback_stage, not %s", kindName(it))
			continue
		}
		var pl Pipeline
		for _, e := range d.entries(it, p) {
			switch e.key {
			case "name":
				pl.Name, _ = d.str(e.val, e.path)
			case "matter_types":
				pl.MatterTypes, _ = d.strs(e.val, e.path)
			case "stages":
				pl.Stages = d.stages(e.val, e.path)
			case "fallback_stage":
				pl.FallbackStage, _ = d.str(e.val, e.path)
			default:
				d.unknown(e, p, []string{"name", "matter_types", "stages", "fallback_stage"})
			}
		}
		out = append(out, pl)
	}
	return out
}

func (d *decoder) stages(n *yaml.Node, path string) []Stage {
	var out []Stage
	for i, it := range d.list(n, path) {
		p := item(path, i)
		if it.Kind != yaml.MappingNode && !isNull(it) {
			d.add(it.Line, p, "must be a mapping with name and source, not %s", kindName(it))
			continue
		}
		var s Stage
		for _, e := range d.entries(it, p) {
			switch e.key {
			case "name":
				s.Name, _ = d.str(e.val, e.path)
			case "source":
				s.Source, _ = d.strs(e.val, e.path)
			default:
				d.unknown(e, p, []string{"name", "source"})
			}
		}
		out = append(out, s)
	}
	return out
}

func (d *decoder) fields(n *yaml.Node, path string, f *Fields) {
	for _, e := range d.entries(n, path) {
		if isNull(e.val) {
			continue
		}
		var m *map[string]Field
		switch e.key {
		case "deal":
			m = &f.Deal
		case "person":
			m = &f.Person
		case "organization":
			m = &f.Organization
		case "custom":
			m = &f.Custom
		default:
			d.unknown(e, path, []string{"deal", "person", "organization", "custom"})
			continue
		}
		if *m == nil {
			*m = map[string]Field{}
		}
		for _, fe := range d.entries(e.val, e.path) {
			if isNull(fe.val) {
				continue
			}
			field, ok := (*m)[fe.key]
			if !ok && e.key == "custom" {
				field = Field{Label: fe.key, Type: defaultCustomType}
			}
			(*m)[fe.key] = d.field(fe.val, fe.path, field)
		}
	}
}

// field lays a {label, type} mapping over f.
func (d *decoder) field(n *yaml.Node, path string, f Field) Field {
	for _, e := range d.entries(n, path) {
		switch e.key {
		case "label":
			if s, ok := d.str(e.val, e.path); ok {
				f.Label = s
			}
		case "type":
			if s, ok := d.str(e.val, e.path); ok {
				f.Type = s
			}
		default:
			d.unknown(e, path, []string{"label", "type"})
		}
	}
	return f
}

func (d *decoder) owners(n *yaml.Node, path string, o *Owners) {
	for _, e := range d.entries(n, path) {
		if isNull(e.val) {
			continue
		}
		switch e.key {
		case "default":
			if s, ok := d.str(e.val, e.path); ok {
				o.Default = s
			}
		case "map":
			if o.Map == nil {
				o.Map = map[string]string{}
			}
			for _, m := range d.entries(e.val, e.path) {
				if s, ok := d.str(m.val, m.path); ok {
					o.Map[m.key] = s
				}
			}
		default:
			d.unknown(e, path, []string{"default", "map"})
		}
	}
}

func (d *decoder) policies(n *yaml.Node, path string, p *Policies) {
	for _, e := range d.entries(n, path) {
		if isNull(e.val) {
			continue
		}
		switch e.key {
		case "missing_email":
			if s, ok := d.str(e.val, e.path); ok {
				p.MissingEmail = s
			}
		case "missing_title":
			if s, ok := d.str(e.val, e.path); ok {
				p.MissingTitle = s
			}
		case "fallback_activity_type":
			if s, ok := d.str(e.val, e.path); ok {
				p.FallbackActivityType = s
			}
		case "attachment_size_limit":
			if b, ok := d.byteSize(e.val, e.path); ok {
				p.AttachmentSizeLimit = b
			}
		default:
			d.unknown(e, path, []string{"missing_email", "missing_title", "fallback_activity_type", "attachment_size_limit"})
		}
	}
}

func (d *decoder) byteSize(n *yaml.Node, path string) (ByteSize, bool) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int" {
		var v int64
		if err := n.Decode(&v); err == nil {
			return ByteSize(v), true
		}
	}
	s, ok := d.str(n, path)
	if !ok {
		return 0, false
	}
	b, err := ParseByteSize(s)
	if err != nil {
		d.add(n.Line, path, "%s", err.Error())
		return 0, false
	}
	return b, true
}

func (d *decoder) staging(n *yaml.Node, path string, s *Staging) {
	for _, e := range d.entries(n, path) {
		if isNull(e.val) {
			continue
		}
		switch e.key {
		case "chunk_matters":
			if v, ok := d.integer(e.val, e.path); ok {
				s.ChunkMatters = v
			}
		default:
			d.unknown(e, path, []string{"chunk_matters"})
		}
	}
}
