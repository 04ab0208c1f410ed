package asl

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// placeholder is a ${Name} as SAM's DefinitionSubstitutions replace them.
var placeholder = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)\}`)

// Substitute replaces every ${Name} placeholder in a definition with
// values[Name], as SAM does with a state machine's DefinitionSubstitutions.
// A value is escaped as JSON string content, since placeholders stand
// inside JSON strings. A placeholder without a value is an error that
// names every such placeholder; values the definition does not use are
// ignored.
func Substitute(definition []byte, values map[string]string) ([]byte, error) {
	missing := map[string]bool{}
	out := placeholder.ReplaceAllFunc(definition, func(m []byte) []byte {
		name := string(m[2 : len(m)-1])
		v, ok := values[name]
		if !ok {
			missing[name] = true
			return m
		}
		quoted := appendString(nil, v)
		return quoted[1 : len(quoted)-1]
	})
	if len(missing) > 0 {
		names := make([]string, 0, len(missing))
		for n := range missing {
			names = append(names, "${"+n+"}")
		}
		sort.Strings(names)
		return nil, fmt.Errorf("asl: the definition has placeholders with no substitution: %s", strings.Join(names, ", "))
	}
	return out, nil
}
