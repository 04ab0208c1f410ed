package mapping

import (
	"maps"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/conveyor-migrate/conveyor/internal/perfectportal"
)

// The lookups run once per row on exports of a million rows: each is one fold
// into a stack buffer and one map read, with no allocation for values of up to
// 64 bytes.

// fold returns the form values are compared in: lower case, trimmed, and runs
// of space, '-' and '_' turned into one space ("  On-Hold " is "on hold").
func fold(s string) string {
	return string(appendFold(nil, s))
}

func appendFold(dst []byte, s string) []byte {
	start, sep := len(dst), false
	for i := 0; i < len(s); {
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		i += size
		if r == '-' || r == '_' || unicode.IsSpace(r) {
			sep = true
			continue
		}
		if sep && len(dst) > start {
			dst = append(dst, ' ')
		}
		sep = false
		switch {
		case 'A' <= r && r <= 'Z':
			dst = append(dst, byte(r+'a'-'A'))
		case r < utf8.RuneSelf:
			dst = append(dst, byte(r))
		default:
			dst = utf8.AppendRune(dst, unicode.ToLower(r))
		}
	}
	return dst
}

func lookup[V any](m map[string]V, raw string) (V, bool) {
	var buf [64]byte
	v, ok := m[string(appendFold(buf[:0], raw))]
	return v, ok
}

// index returns the lookup tables; a Config built in code, never parsed or
// validated, gets them built afresh on each call.
func (c *Config) index() *index {
	if c.idx != nil {
		return c.idx
	}
	idx, _ := check(c, nil)
	return idx
}

// HeaderAliases returns, for a table of the export, every header spelling
// Conveyor accepts — NormalizeHeader(alias or column) — mapped to its
// canonical column. It includes each format-1 column as itself, and
// configured custom.<Name> columns. The caller owns the map; a table format 1
// does not have gets nil.
func (c *Config) HeaderAliases(table string) map[string]string {
	return maps.Clone(c.index().headers[table])
}

// MatterType returns the canonical matter type a raw value names (a name or
// one of its aliases), or false if it names none.
func (c *Config) MatterType(raw string) (name string, ok bool) {
	return lookup(c.index().matterTypes, raw)
}

// Status returns the canonical status (open, completed, aborted, on_hold) a
// raw value spells, or false.
func (c *Config) Status(raw string) (status string, ok bool) {
	return lookup(c.index().statuses, raw)
}

// ActivityType returns the canonical activity type (call, email, meeting,
// sms, task, note) a raw value spells, or false; the caller then applies
// Policies.FallbackActivityType and flags the row.
func (c *Config) ActivityType(raw string) (typ string, ok bool) {
	return lookup(c.index().activityTypes, raw)
}

// PipelineFor returns the pipeline for a canonical matter type: the one that
// lists it, else the default pipeline. It returns nil only for a Config with
// no default pipeline, which never validates.
func (c *Config) PipelineFor(matterType string) *Pipeline {
	idx := c.index()
	i, ok := lookup(idx.pipelineByType, matterType)
	if !ok {
		i = idx.defaultPipeline
	}
	if i < 0 || i >= len(c.Pipelines) {
		return nil
	}
	return &c.Pipelines[i]
}

// StageFor returns the stage a source stage name goes to in this pipeline; a
// name no stage lists goes to FallbackStage when one is set. It returns false
// when the source stage has nowhere to go: the run stops for review.
func (p *Pipeline) StageFor(source string) (stage string, ok bool) {
	sources := p.sources
	if sources == nil {
		sources = (&checker{}).stages("", *p)
	}
	if s, ok := lookup(sources, source); ok {
		return s, true
	}
	if p.FallbackStage != "" {
		return p.FallbackStage, true
	}
	return "", false
}

// CustomField returns the Deal field for a custom.<Name> matter column, given
// as "custom.<Name>" or "<Name>": the one configured under fields.custom, or
// a varchar field labelled <Name>.
func (c *Config) CustomField(name string) Field {
	name = strings.TrimSpace(name)
	if len(name) >= len(perfectportal.CustomColumnPrefix) && strings.EqualFold(name[:len(perfectportal.CustomColumnPrefix)], perfectportal.CustomColumnPrefix) {
		name = strings.TrimSpace(name[len(perfectportal.CustomColumnPrefix):])
	}
	if f, ok := c.index().custom[fold(name)]; ok {
		return f
	}
	return Field{Label: name, Type: defaultCustomType}
}
