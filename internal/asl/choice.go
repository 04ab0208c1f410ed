package asl

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Choice rules, as https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html
// defines them for JSONPath states.

type choiceRule struct {
	op        string
	cmp       *comparator
	variable  *path
	operand   any   // the literal to compare with: string, float64, bool, time.Time or *glob
	valuePath *path // for the …Path comparators
	rules     []*choiceRule
	not       *choiceRule
	next      string
}

// comparator describes one comparison operator.
type comparator struct {
	kind   string // string, numeric, boolean, timestamp, matches, or a type test
	test   func(c int) bool
	isPath bool
}

var comparators = map[string]*comparator{}

func init() {
	orders := map[string]func(int) bool{
		"Equals":            func(c int) bool { return c == 0 },
		"LessThan":          func(c int) bool { return c < 0 },
		"GreaterThan":       func(c int) bool { return c > 0 },
		"LessThanEquals":    func(c int) bool { return c <= 0 },
		"GreaterThanEquals": func(c int) bool { return c >= 0 },
	}
	for kind, prefix := range map[string]string{"string": "String", "numeric": "Numeric", "timestamp": "Timestamp"} {
		for suffix, test := range orders {
			comparators[prefix+suffix] = &comparator{kind: kind, test: test}
			comparators[prefix+suffix+"Path"] = &comparator{kind: kind, test: test, isPath: true}
		}
	}
	comparators["BooleanEquals"] = &comparator{kind: "boolean", test: orders["Equals"]}
	comparators["BooleanEqualsPath"] = &comparator{kind: "boolean", test: orders["Equals"], isPath: true}
	comparators["StringMatches"] = &comparator{kind: "matches"}
	for _, t := range []string{"IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp"} {
		comparators[t] = &comparator{kind: t}
	}
}

// parseChoiceRule compiles one rule; top says whether it is an element of
// Choices (which needs Next) or nested in And, Or or Not (which must not
// have it).
func parseChoiceRule(v any, top bool) (*choiceRule, error) {
	obj, ok := v.(*object)
	if !ok {
		return nil, fmt.Errorf("a choice rule must be an object, not a %s", typeName(v))
	}
	r := &choiceRule{}
	for _, k := range obj.keys {
		val := obj.vals[k]
		switch {
		case k == "Comment":
		case k == "Next":
			if !top {
				return nil, errors.New(`a rule nested in And, Or or Not must not have "Next"`)
			}
			s, ok := val.(string)
			if !ok || s == "" {
				return nil, errors.New(`"Next" must be a state name`)
			}
			r.next = s
		case k == "Variable":
			s, ok := val.(string)
			if !ok {
				return nil, errors.New(`"Variable" must be a path`)
			}
			p, err := parsePath(s, true)
			if err != nil {
				return nil, fmt.Errorf(`"Variable": %w`, err)
			}
			r.variable = p
		case k == "And" || k == "Or" || k == "Not" || comparators[k] != nil:
			if r.op != "" {
				return nil, fmt.Errorf("a rule has one operator, but this one has %q and %q", r.op, k)
			}
			r.op = k
			if err := r.parseOperand(k, val); err != nil {
				return nil, err
			}
		case k == "Condition" || k == "Assign" || k == "Output":
			return nil, fmt.Errorf("%q in a choice rule %v", k, errUnsupported)
		default:
			return nil, fmt.Errorf("%q is not a choice rule field", k)
		}
	}
	switch {
	case r.op == "":
		return nil, errors.New("a choice rule needs a comparison operator, And, Or or Not")
	case (r.op == "And" || r.op == "Or" || r.op == "Not") && r.variable != nil:
		return nil, fmt.Errorf(`a rule with %q must not have "Variable"`, r.op)
	case r.cmp != nil && r.variable == nil:
		return nil, fmt.Errorf(`a rule with %q needs "Variable"`, r.op)
	case top && r.next == "":
		return nil, errors.New(`a rule in "Choices" needs "Next"`)
	}
	return r, nil
}

func (r *choiceRule) parseOperand(op string, v any) error {
	switch op {
	case "And", "Or":
		arr, ok := v.([]any)
		if !ok || len(arr) == 0 {
			return fmt.Errorf("%q must be a non-empty array of choice rules", op)
		}
		for _, e := range arr {
			sub, err := parseChoiceRule(e, false)
			if err != nil {
				return fmt.Errorf("%s: %w", op, err)
			}
			r.rules = append(r.rules, sub)
		}
		return nil
	case "Not":
		sub, err := parseChoiceRule(v, false)
		if err != nil {
			return fmt.Errorf("Not: %w", err)
		}
		r.not = sub
		return nil
	}
	c := comparators[op]
	r.cmp = c
	if c.isPath {
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("%q must be a path", op)
		}
		p, err := parsePath(s, true)
		if err != nil {
			return fmt.Errorf("%q: %w", op, err)
		}
		r.valuePath = p
		return nil
	}
	switch c.kind {
	case "string":
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("%q must be a string", op)
		}
		r.operand = s
	case "matches":
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("%q must be a string", op)
		}
		g, err := compileGlob(s)
		if err != nil {
			return fmt.Errorf("%q: %w", op, err)
		}
		r.operand = g
	case "numeric":
		f, ok := asFloat(v)
		if !ok {
			return fmt.Errorf("%q must be a number", op)
		}
		r.operand = f
	case "timestamp":
		s, _ := v.(string)
		t, ok := parseTimestamp(s)
		if !ok {
			return fmt.Errorf("%q must be a timestamp such as 2016-08-18T17:33:00Z", op)
		}
		r.operand = t
	default: // boolean and the type tests
		b, ok := v.(bool)
		if !ok {
			return fmt.Errorf("%q must be true or false", op)
		}
		r.operand = b
	}
	return nil
}

// parseTimestamp accepts the RFC 3339 profile Step Functions uses: an
// uppercase T between date and time, and Z or a numeric offset.
func parseTimestamp(s string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}

// matches evaluates the rule against a state's input.
func (r *choiceRule) matches(e *env) (bool, error) {
	switch r.op {
	case "And":
		for _, sub := range r.rules {
			ok, err := sub.matches(e)
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case "Or":
		for _, sub := range r.rules {
			ok, err := sub.matches(e)
			if err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	case "Not":
		ok, err := r.not.matches(e)
		return !ok && err == nil, err
	}
	v, present := get(r.variable, e)
	if r.op == "IsPresent" {
		return present == r.operand.(bool), nil
	}
	if !present {
		return false, fmt.Errorf("invalid path %q: the choice state's condition path references an invalid value", r.variable.src)
	}
	operand := r.operand
	if r.valuePath != nil {
		other, ok := get(r.valuePath, e)
		if !ok {
			return false, fmt.Errorf("invalid path %q: the choice state's %s path references an invalid value", r.valuePath.src, r.op)
		}
		var usable bool
		if operand, usable = pathOperand(r.cmp.kind, other); !usable {
			return false, nil
		}
	}
	return compare(r.cmp, v, operand), nil
}

func get(p *path, e *env) (any, bool) {
	if p.context {
		return p.get(e.context)
	}
	return p.get(e.input)
}

// pathOperand converts the value a …Path comparator found into the form
// compare wants; a value of the wrong type makes the comparison false.
func pathOperand(kind string, v any) (any, bool) {
	switch kind {
	case "string":
		s, ok := v.(string)
		return s, ok
	case "numeric":
		return asFloat(v)
	case "boolean":
		b, ok := v.(bool)
		return b, ok
	case "timestamp":
		s, _ := v.(string)
		return parseTimestamp(s)
	}
	return nil, false
}

// compare applies a comparator to a variable's value. As in Step Functions,
// a value of the wrong type never matches; it is not an error.
func compare(c *comparator, v, operand any) bool {
	switch c.kind {
	case "string":
		s, ok := v.(string)
		return ok && c.test(strings.Compare(s, operand.(string)))
	case "matches":
		s, ok := v.(string)
		return ok && operand.(*glob).match(s)
	case "numeric":
		f, ok := asFloat(v)
		if !ok {
			return false
		}
		o := operand.(float64)
		switch {
		case f < o:
			return c.test(-1)
		case f > o:
			return c.test(1)
		}
		return c.test(0)
	case "boolean":
		b, ok := v.(bool)
		return ok && b == operand.(bool)
	case "timestamp":
		s, ok := v.(string)
		if !ok {
			return false
		}
		t, ok := parseTimestamp(s)
		return ok && c.test(t.Compare(operand.(time.Time)))
	}
	var is bool
	switch c.kind {
	case "IsNull":
		is = v == nil
	case "IsNumeric":
		_, is = asFloat(v)
	case "IsString":
		_, is = v.(string)
	case "IsBoolean":
		_, is = v.(bool)
	case "IsTimestamp":
		s, ok := v.(string)
		_, isTime := parseTimestamp(s)
		is = ok && isTime
	}
	return is == operand.(bool)
}

// glob is a StringMatches pattern: * matches any run of characters, \* a
// literal asterisk and \\ a literal backslash.
type glob struct {
	parts []string // the literal text between the stars
}

func compileGlob(s string) (*glob, error) {
	var parts []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '*':
			parts = append(parts, cur.String())
			cur.Reset()
		case '\\':
			if i+1 >= len(s) || (s[i+1] != '*' && s[i+1] != '\\') {
				return nil, errors.New(`only \* and \\ may be escaped`)
			}
			i++
			cur.WriteByte(s[i])
		default:
			cur.WriteByte(c)
		}
	}
	return &glob{parts: append(parts, cur.String())}, nil
}

func (g *glob) match(s string) bool {
	if len(g.parts) == 1 {
		return s == g.parts[0]
	}
	first, last := g.parts[0], g.parts[len(g.parts)-1]
	if len(s) < len(first)+len(last) || !strings.HasPrefix(s, first) || !strings.HasSuffix(s, last) {
		return false
	}
	s = s[len(first) : len(s)-len(last)]
	for _, p := range g.parts[1 : len(g.parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return true
}

// choice reads a Choice state's Choices and Default.
func (p *stateParser) choice(s *state) error {
	v, _ := p.get("Choices")
	arr, ok := v.([]any)
	if !ok || len(arr) == 0 {
		return p.errorf("Choices", "is required and must be a non-empty array of choice rules")
	}
	c := &choiceSpec{}
	for i, e := range arr {
		r, err := parseChoiceRule(e, true)
		if err != nil {
			return p.errorf(fmt.Sprintf("Choices[%d]", i), "is not a valid choice rule: %v", err)
		}
		c.rules = append(c.rules, r)
	}
	var err error
	if c.deflt, _, err = p.str("Default"); err != nil {
		return err
	}
	s.choice = c
	return nil
}
