package mapping

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/conveyor-migrate/conveyor/internal/perfectportal"
)

// Vocabularies the rest of Conveyor is written against.
var (
	statusNames       = []string{StatusOpen, StatusCompleted, StatusAborted, StatusOnHold}
	activityTypeNames = []string{ActivityCall, ActivityEmail, ActivityMeeting, ActivitySMS, ActivityTask, ActivityNote}
	// fallbackActivityTypes leaves out note: an unknown type still becomes an
	// Activity, and a Note is not one.
	fallbackActivityTypes = []string{ActivityCall, ActivityEmail, ActivityMeeting, ActivitySMS, ActivityTask}
	missingEmailPolicies  = []string{MissingEmailMigrate, MissingEmailSkip}
	missingTitlePolicies  = []string{MissingTitleFallback, MissingTitleSkip}

	// fieldTypes are Pipedrive's custom field types.
	fieldTypes = []string{"varchar", "varchar_auto", "text", "double", "monetary", "date", "daterange", "time", "timerange", "set", "enum", "user", "org", "people", "phone", "address"}

	// knownFields are the fields Conveyor writes, per entity; default.yaml
	// gives each its label and type.
	knownFields = map[string][]string{
		"deal":         {"matter_number", "matter_type", "created_at", "property_address", "purchase_price", "mortgage_lender", "referring_solicitor", "source_id", "stage_entered", "stage_timestamps"},
		"person":       {"role", "source_id"},
		"organization": {"source_id"},
	}
)

const (
	defaultCustomType  = "varchar"
	stagePlaceholder   = "{stage}"
	maxAttachmentLimit = 2 * GB
	maxChunkMatters    = 10000
)

// index holds the folded lookup tables built from a valid Config.
type index struct {
	headers         map[string]map[string]string // table -> NormalizeHeader(alias or column) -> column
	matterTypes     map[string]string            // fold(name or alias) -> name
	statuses        map[string]string
	activityTypes   map[string]string
	pipelineByType  map[string]int // fold(matter type name) -> pipeline
	defaultPipeline int            // -1 if none
	custom          map[string]Field
	sources         []map[string]string // per pipeline: fold(source stage) -> stage
}

func (c *Config) setIndex(idx *index) {
	c.idx = idx
	for i := range c.Pipelines {
		c.Pipelines[i].sources = idx.sources[i]
	}
}

type checker struct {
	lines    map[string]int // nil for a Config built in code
	problems []Problem
}

// check validates c and builds its lookup tables; lines, from the decoder,
// place each problem in the file.
func check(c *Config, lines map[string]int) (*index, []Problem) {
	v := &checker{lines: lines}
	idx := &index{}
	if c.Version != 1 {
		v.add("version", "%d is not supported; this Conveyor reads version 1", c.Version)
	}
	idx.headers = v.headers(c.Headers)
	idx.matterTypes = v.matterTypes(c.MatterTypes)
	idx.statuses = v.vocabulary("statuses", c.Statuses, statusNames, "status")
	idx.activityTypes = v.vocabulary("activity_types", c.ActivityTypes, activityTypeNames, "activity type")
	v.pipelines(c, idx)
	idx.custom = v.fields(&c.Fields)
	v.owners(&c.Owners)
	v.policies(&c.Policies)
	if n := c.Staging.ChunkMatters; n < 1 || n > maxChunkMatters {
		v.add("staging.chunk_matters", "%d is not between 1 and %d", n, maxChunkMatters)
	}
	return idx, v.problems
}

// line is where path, or the nearest setting around it, is written; 0 if nowhere.
func (v *checker) line(path string) int {
	for {
		if l, ok := v.lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			return 0
		}
		path = path[:i]
	}
}

func (v *checker) add(path, format string, args ...any) {
	v.addAt(path, path, format, args...)
}

// addAt reports a problem shown under path but placed at linePath's line
// (for a key that is wrong in itself, the key's line).
func (v *checker) addAt(linePath, path, format string, args ...any) {
	v.problems = append(v.problems, Problem{Line: v.line(linePath), Path: path, Message: fmt.Sprintf(format, args...)})
}

// where says where an earlier claim was written, for "already …" messages.
func (v *checker) where(path string) string {
	if v.lines == nil {
		return " (" + path + ")"
	}
	if l, ok := v.lines[path]; ok {
		return " (line " + strconv.Itoa(l) + ")"
	}
	return " (in the default configuration)"
}

// byLine returns m's keys in the order they are written, keys kept from the
// default first, so that a clash is reported on the line the user wrote.
func byLine[V any](v *checker, parent string, m map[string]V) []string {
	keys := slices.Sorted(maps.Keys(m))
	slices.SortStableFunc(keys, func(a, b string) int {
		return cmp.Compare(v.lines[join(parent, a)], v.lines[join(parent, b)])
	})
	return keys
}

func (v *checker) headers(h map[string]map[string][]string) map[string]map[string]string {
	out := map[string]map[string]string{}
	tables := make([]string, len(perfectportal.Schema))
	for i, s := range perfectportal.Schema {
		tables[i] = s.Name
		m := make(map[string]string, len(s.Columns))
		for _, col := range s.Columns {
			m[col] = col
		}
		out[s.Name] = m
	}
	for _, table := range byLine(v, "headers", h) {
		tpath := join("headers", table)
		spec, ok := perfectportal.Spec(table)
		if !ok {
			v.addAt(tpath, "headers", "unknown table %q%s; tables are %s", table, suggest(table, tables), strings.Join(tables, ", "))
			continue
		}
		m := out[table]
		claim := map[string]string{} // normalized header -> path that claimed it
		cols := byLine(v, tpath, h[table])
		valid := cols[:0:0]
		for _, col := range cols {
			cpath := join(tpath, col)
			norm := perfectportal.NormalizeHeader(col)
			custom := strings.HasPrefix(norm, perfectportal.CustomColumnPrefix)
			switch {
			case custom && table != perfectportal.TableMatters:
				v.addAt(cpath, tpath, "%q: custom.<Name> columns exist only in matters", col)
			case custom && norm == perfectportal.CustomColumnPrefix:
				v.addAt(cpath, tpath, "%q: write the custom column's name after \"custom.\"", col)
			case !custom && !spec.HasColumn(norm):
				v.addAt(cpath, tpath, "unknown column %q in %s%s; its columns are %s, plus custom.<Name> in matters", col, table, suggest(col, spec.Columns), strings.Join(spec.Columns, ", "))
			case norm != col:
				v.addAt(cpath, tpath, "write the column %q as %q", col, norm)
			default:
				m[col] = col
				claim[col] = cpath
				valid = append(valid, col)
			}
		}
		for _, col := range valid {
			cpath := join(tpath, col)
			for i, alias := range h[table][col] {
				apath := item(cpath, i)
				norm := perfectportal.NormalizeHeader(alias)
				prev, taken := m[norm]
				switch {
				case norm == "":
					v.add(apath, "an empty header matches nothing; remove it")
				case prev == col:
					// The column itself, or an alias written twice: harmless.
				case taken && prev == norm:
					v.add(apath, "%q is the column %s itself; a header can name only one column", alias, prev)
				case taken:
					v.add(apath, "%q is already a header for %s%s; a header can name only one column", alias, prev, v.where(claim[norm]))
				default:
					m[norm] = col
					claim[norm] = apath
				}
			}
		}
	}
	return out
}

func (v *checker) matterTypes(types []MatterType) map[string]string {
	out := map[string]string{}
	claim := map[string]string{}
	for i, mt := range types {
		p := item("matter_types", i)
		f := fold(mt.Name)
		if _, taken := out[f]; f == "" {
			v.add(join(p, "name"), "a matter type needs a name")
		} else if taken {
			v.add(join(p, "name"), "matter type %q is already defined%s; names must be unique", mt.Name, v.where(claim[f]))
		} else {
			out[f] = mt.Name
			claim[f] = join(p, "name")
		}
	}
	for i, mt := range types {
		p := item("matter_types", i)
		for j, a := range mt.Aliases {
			ap := item(join(p, "aliases"), j)
			f := fold(a)
			prev, taken := out[f]
			switch {
			case f == "":
				v.add(ap, "an empty spelling matches nothing; remove it")
			case taken && prev != mt.Name:
				v.add(ap, "%q is already a spelling of matter type %s%s; a spelling can mean only one matter type", a, prev, v.where(claim[f]))
			case !taken:
				out[f] = mt.Name
				claim[f] = ap
			}
		}
	}
	return out
}

// vocabulary checks a canonical name -> spellings section and returns
// fold(spelling or name) -> name.
func (v *checker) vocabulary(path string, m map[string][]string, names []string, noun string) map[string]string {
	out := map[string]string{}
	claim := map[string]string{}
	for _, n := range names {
		out[fold(n)] = n
		claim[fold(n)] = join(path, n)
	}
	for _, k := range byLine(v, path, m) {
		kpath := join(path, k)
		if !slices.Contains(names, k) {
			v.addAt(kpath, path, "unknown %s %q%s; %s", noun, k, suggest(k, names), oneOf(names))
			continue
		}
		for i, a := range m[k] {
			ap := item(kpath, i)
			f := fold(a)
			prev, taken := out[f]
			switch {
			case f == "":
				v.add(ap, "an empty spelling matches nothing; remove it")
			case taken && prev != k:
				v.add(ap, "%q is already a spelling of %s%s; a spelling can mean only one %s", a, prev, v.where(claim[f]), noun)
			case !taken:
				out[f] = k
				claim[f] = ap
			}
		}
	}
	return out
}

func (v *checker) pipelines(c *Config, idx *index) {
	idx.pipelineByType = map[string]int{}
	idx.defaultPipeline = -1
	idx.sources = make([]map[string]string, len(c.Pipelines))
	if len(c.Pipelines) == 0 {
		v.add("pipelines", "at least one pipeline is required; the default one has an empty matter_types list")
	}
	var mtNames []string
	for _, mt := range c.MatterTypes {
		mtNames = append(mtNames, mt.Name)
	}
	names := map[string]string{}
	var defaults []int
	for i, p := range c.Pipelines {
		pp := item("pipelines", i)
		if f := fold(p.Name); f == "" {
			v.add(join(pp, "name"), "a pipeline needs a name")
		} else if prev, taken := names[f]; taken {
			v.add(join(pp, "name"), "pipeline %q is already defined%s; names must be unique", p.Name, v.where(prev))
		} else {
			names[f] = join(pp, "name")
		}
		if len(p.MatterTypes) == 0 {
			defaults = append(defaults, i)
		}
		for j, mt := range p.MatterTypes {
			mp := item(join(pp, "matter_types"), j)
			name, ok := idx.matterTypes[fold(mt)]
			switch {
			case !ok:
				v.add(mp, "%q is not a matter type; add it to matter_types, or use one of %s", mt, strings.Join(mtNames, ", "))
			case fold(name) != fold(mt):
				v.add(mp, "%q is a spelling of matter type %q; list the matter type by its name", mt, name)
			default:
				if prev, taken := idx.pipelineByType[fold(name)]; taken && prev != i {
					v.add(mp, "matter type %s is already in pipeline %q; a matter type goes into one pipeline", name, c.Pipelines[prev].Name)
				} else {
					idx.pipelineByType[fold(name)] = i
				}
			}
		}
		idx.sources[i] = v.stages(pp, p)
	}
	switch {
	case len(c.Pipelines) > 0 && len(defaults) == 0:
		v.add("pipelines", "no default pipeline: give exactly one pipeline an empty matter_types list ([]); it takes every matter type the others do not list")
	case len(defaults) > 1:
		first := c.Pipelines[defaults[0]].Name
		for _, i := range defaults[1:] {
			v.add(join(item("pipelines", i), "matter_types"), "pipeline %q is a second default pipeline (empty matter_types, like %q); list the matter types it takes", c.Pipelines[i].Name, first)
		}
	}
	if len(defaults) > 0 {
		idx.defaultPipeline = defaults[0]
	}
}

// stages checks one pipeline's stages and returns fold(source stage) -> stage.
func (v *checker) stages(pp string, p Pipeline) map[string]string {
	sources := map[string]string{}
	claim := map[string]string{}
	if len(p.Stages) == 0 {
		v.add(join(pp, "stages"), "pipeline %q needs at least one stage", p.Name)
	}
	names := map[string]string{}
	var stageNames []string
	for k, s := range p.Stages {
		sp := item(join(pp, "stages"), k)
		stageNames = append(stageNames, s.Name)
		if f := fold(s.Name); f == "" {
			v.add(join(sp, "name"), "a stage needs a name")
		} else if prev, taken := names[f]; taken {
			v.add(join(sp, "name"), "stage %q is already in this pipeline%s; stage names must be unique", s.Name, v.where(prev))
		} else {
			names[f] = join(sp, "name")
		}
		for l, src := range s.Source {
			srcp := item(join(sp, "source"), l)
			f := fold(src)
			prev, taken := sources[f]
			switch {
			case f == "":
				v.add(srcp, "an empty source stage matches nothing; remove it")
			case taken && prev != s.Name:
				v.add(srcp, "source stage %q already goes to stage %q%s; in one pipeline a source stage goes to one stage", src, prev, v.where(claim[f]))
			case !taken:
				sources[f] = s.Name
				claim[f] = srcp
			}
		}
	}
	if p.FallbackStage != "" && !slices.Contains(stageNames, p.FallbackStage) {
		v.add(join(pp, "fallback_stage"), "%q is not a stage of pipeline %q; write one of %s, or \"\" to stop for review", p.FallbackStage, p.Name, quoteAll(stageNames))
	}
	return sources
}

// fields checks the custom fields and returns fold(custom name) -> field.
func (v *checker) fields(f *Fields) map[string]Field {
	entities := []struct {
		name string
		m    map[string]Field
	}{{"deal", f.Deal}, {"person", f.Person}, {"organization", f.Organization}}
	var dealLabels map[string]string
	for _, e := range entities {
		path := join("fields", e.name)
		known := knownFields[e.name]
		labels := map[string]string{}
		for _, key := range byLine(v, path, e.m) {
			kpath := join(path, key)
			if !slices.Contains(known, key) {
				v.addAt(kpath, path, "unknown field %q%s; %s fields are %s (a custom.<Name> matter column goes under fields.custom)", key, suggest(key, known), e.name, strings.Join(known, ", "))
				continue
			}
			field := e.m[key]
			v.field(kpath, field)
			if key == "stage_entered" {
				if field.Label != "" && !strings.Contains(field.Label, stagePlaceholder) {
					v.add(join(kpath, "label"), "%q must contain %s, which becomes each stage's name: Pipedrive needs one field per stage", field.Label, stagePlaceholder)
				}
				continue
			}
			v.uniqueLabel(labels, kpath, field.Label)
		}
		for _, key := range known {
			if _, ok := e.m[key]; !ok {
				v.add(path, "field %q is missing; Conveyor writes it (see default.yaml)", key)
			}
		}
		if e.name == "deal" {
			dealLabels = labels
		}
	}
	custom := map[string]Field{}
	claim := map[string]string{}
	for _, key := range byLine(v, "fields.custom", f.Custom) {
		kpath := join("fields.custom", key)
		name := strings.TrimSpace(key)
		fn := fold(name)
		switch {
		case fn == "":
			v.addAt(kpath, "fields.custom", "a custom field needs the name of its custom.<Name> column")
			continue
		case len(name) >= len(perfectportal.CustomColumnPrefix) && strings.EqualFold(name[:len(perfectportal.CustomColumnPrefix)], perfectportal.CustomColumnPrefix):
			v.addAt(kpath, "fields.custom", "write %q without the \"custom.\" prefix", key)
			continue
		}
		if prev, taken := claim[fn]; taken {
			v.addAt(kpath, "fields.custom", "%q is the same column as %s%s; keep one", key, prev, v.where(prev))
			continue
		}
		claim[fn] = kpath
		field := f.Custom[key]
		v.field(kpath, field)
		if dealLabels != nil {
			v.uniqueLabel(dealLabels, kpath, field.Label)
		}
		custom[fn] = field
	}
	return custom
}

func (v *checker) field(path string, f Field) {
	if strings.TrimSpace(f.Label) == "" {
		v.add(join(path, "label"), "a field needs a label: it is the field's name in Pipedrive")
	}
	switch t := fold(f.Type); {
	case slices.Contains(fieldTypes, f.Type):
	case t == "datetime" || t == "date time":
		v.add(join(path, "type"), "Pipedrive has no %s field type; use date (the exact times are kept in the stage_timestamps field)", f.Type)
	case f.Type == "":
		v.add(join(path, "type"), "a field needs a type, one of %s", strings.Join(fieldTypes, ", "))
	default:
		v.add(join(path, "type"), "%q is not a Pipedrive field type%s; types are %s", f.Type, suggest(f.Type, fieldTypes), strings.Join(fieldTypes, ", "))
	}
}

// uniqueLabel reports a label that another field of the same entity has:
// Conveyor finds fields by label, so both would be one Pipedrive field.
func (v *checker) uniqueLabel(labels map[string]string, path, label string) {
	f := fold(label)
	if f == "" {
		return
	}
	if prev, taken := labels[f]; taken {
		v.add(join(path, "label"), "%q is already the label of %s%s; Conveyor finds fields by label, so labels must differ", label, strings.TrimPrefix(prev, "fields."), v.where(join(prev, "label")))
		return
	}
	labels[f] = path
}

func (v *checker) owners(o *Owners) {
	if o.Default != "" && !plausibleEmail(o.Default) {
		v.add("owners.default", "%q is not an email address: write a Pipedrive user's email, or \"\" for the API token's user", o.Default)
	}
	for _, key := range byLine(v, "owners.map", o.Map) {
		kpath := join("owners.map", key)
		if strings.TrimSpace(key) == "" {
			v.addAt(kpath, "owners.map", "an empty fee earner matches nothing; write a fee_earner_id or fee earner email")
			continue
		}
		if to := o.Map[key]; !plausibleEmail(to) {
			v.add(kpath, "%q is not an email address: write the Pipedrive user's email", to)
		}
	}
}

func (v *checker) policies(p *Policies) {
	v.enum("policies.missing_email", p.MissingEmail, missingEmailPolicies)
	v.enum("policies.missing_title", p.MissingTitle, missingTitlePolicies)
	if p.FallbackActivityType == ActivityNote {
		v.add("policies.fallback_activity_type", "note cannot be the fallback: an unknown activity type still becomes a Pipedrive activity; %s", oneOf(fallbackActivityTypes))
	} else {
		v.enum("policies.fallback_activity_type", p.FallbackActivityType, fallbackActivityTypes)
	}
	switch l := p.AttachmentSizeLimit; {
	case l <= 0:
		v.add("policies.attachment_size_limit", "must be more than 0 (e.g. 25MB)")
	case l > maxAttachmentLimit:
		v.add("policies.attachment_size_limit", "%s is over the largest allowed, %s", l, ByteSize(maxAttachmentLimit))
	}
}

func (v *checker) enum(path, value string, allowed []string) {
	if !slices.Contains(allowed, value) {
		v.add(path, "%q is not one of %s", value, strings.Join(allowed, ", "))
	}
}

func oneOf(names []string) string {
	return "use one of " + strings.Join(names, ", ")
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

// plausibleEmail catches what is plainly not an email address (a name, a
// fee earner id) without pretending to validate RFC 5322.
func plausibleEmail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || strings.Contains(domain, "@") || strings.ContainsAny(s, " \t\r\n,;<>\"") {
		return false
	}
	dot := strings.LastIndexByte(domain, '.')
	return dot > 0 && dot < len(domain)-1 && !strings.HasPrefix(domain, ".")
}

// suggest returns `; did you mean "x"?` for the known name closest to s, if
// one is close enough to be a typing slip.
func suggest(s string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := distance(strings.ToLower(s), k); d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" || bestD >= len(s) {
		return ""
	}
	return fmt.Sprintf("; did you mean %q?", best)
}

// distance is the optimal string alignment distance: insertions, deletions,
// substitutions and transpositions of adjacent bytes.
func distance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return max(len(a), len(b))
	}
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
