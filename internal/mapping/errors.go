package mapping

import (
	"sort"
	"strconv"
	"strings"
)

// Problem is one thing wrong with a mapping configuration.
type Problem struct {
	// Line is the 1-based line of the file where the problem is written; 0 when
	// it has no line (a value kept from the default, or a Config built in code).
	Line int
	// Path names the setting, e.g. "policies.missing_email" or
	// "pipelines[0].stages[2].source[1]"; empty for the top level of the file.
	Path string
	// Message says what is wrong and, where it helps, what to write instead.
	Message string
}

// Error is every problem found in one mapping configuration. Parse, Load and
// Config.Validate return it, so that a user fixes them all in one pass.
type Error struct {
	// File is the name the configuration was read under (its path); empty for a
	// Config checked by Validate.
	File string
	// Problems are in line order; problems without a line come last.
	Problems []Problem
}

// Error lists the problems one per line, each as
// `conveyor.yaml line 42: policies.missing_email: "maybe" is not one of migrate, skip`.
func (e *Error) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.format(p))
	}
	return b.String()
}

func (e *Error) format(p Problem) string {
	file := e.File
	if file == "" {
		file = "mapping configuration"
	}
	s := file
	if p.Line > 0 {
		s += " line " + strconv.Itoa(p.Line)
	}
	s += ": "
	if p.Path != "" {
		s += p.Path + ": "
	}
	return s + p.Message
}

// sortProblems orders problems by line, keeping the order they were found in
// within a line and putting problems without a line last.
func sortProblems(ps []Problem) {
	sort.SliceStable(ps, func(i, j int) bool {
		li, lj := ps[i].Line, ps[j].Line
		if li == 0 || lj == 0 {
			return li != 0 && lj == 0
		}
		return li < lj
	})
}
