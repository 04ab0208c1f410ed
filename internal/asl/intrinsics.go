package asl

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Intrinsic functions, as https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html
// defines them for JSONPath states. They appear as the value of a
// Parameters, ResultSelector or ItemSelector field whose name ends in ".$",
// and in a Fail state's ErrorPath and CausePath.

// env is what an expression is evaluated against.
type env struct {
	input   any            // the value "$" names
	context any            // the value "$$" names
	random  func() float64 // [0,1), for States.MathRandom without a seed
}

// expr is a compiled path or intrinsic function call.
type expr interface {
	eval(e *env) (any, error)
}

type pathExpr struct{ p *path }

func (x pathExpr) eval(e *env) (any, error) {
	root := e.input
	if x.p.context {
		root = e.context
	}
	v, ok := x.p.get(root)
	if !ok {
		where := "the input"
		if x.p.context {
			where = "the context object"
		}
		return nil, fmt.Errorf("the JSONPath %q could not be found in %s", x.p.src, where)
	}
	return v, nil
}

// literalExpr is a string, number, boolean or null argument. For a string,
// formatAt lists where an unescaped "{}" stands, for States.Format.
type literalExpr struct {
	v        any
	formatAt []int
}

func (x literalExpr) eval(*env) (any, error) { return x.v, nil }

type callExpr struct {
	name string
	fn   *intrinsic
	args []expr
}

func (c *callExpr) eval(e *env) (any, error) {
	vals := make([]any, len(c.args))
	for i, a := range c.args {
		v, err := a.eval(e)
		if err != nil {
			return nil, err
		}
		vals[i] = v
	}
	v, err := c.fn.call(e, c, vals)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.name, err)
	}
	return v, nil
}

// maxIntrinsicDepth is how deeply calls may nest in one field, as in Step
// Functions.
const maxIntrinsicDepth = 10

// parseExpr compiles the value of a ".$" field: a path or an intrinsic
// function call.
func parseExpr(s string) (expr, error) {
	if strings.HasPrefix(s, "$") {
		p, err := parsePath(s, true)
		if err != nil {
			return nil, err
		}
		return pathExpr{p}, nil
	}
	if !strings.HasPrefix(s, "States.") {
		return nil, fmt.Errorf("%q is neither a path (starting with $) nor an intrinsic function call (States.…)", s)
	}
	p := &intrinsicParser{src: s}
	c, err := p.call(1)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos < len(p.src) {
		return nil, p.errorf("unexpected %q after the call", p.src[p.pos:])
	}
	return c, nil
}

type intrinsicParser struct {
	src string
	pos int
}

func (p *intrinsicParser) errorf(format string, args ...any) error {
	return fmt.Errorf("intrinsic %q: %s", p.src, fmt.Sprintf(format, args...))
}

func (p *intrinsicParser) skipSpace() {
	for p.pos < len(p.src) && strings.IndexByte(" \t\r\n", p.src[p.pos]) >= 0 {
		p.pos++
	}
}

func (p *intrinsicParser) call(depth int) (*callExpr, error) {
	if depth > maxIntrinsicDepth {
		return nil, p.errorf("more than %d nested intrinsic functions", maxIntrinsicDepth)
	}
	start := p.pos
	for p.pos < len(p.src) && (isIdentByte(p.src[p.pos]) || p.src[p.pos] == '.') {
		p.pos++
	}
	name := p.src[start:p.pos]
	fn, ok := intrinsics[name]
	if !ok {
		return nil, fmt.Errorf("intrinsic function %q %w", name, errUnsupported)
	}
	p.skipSpace()
	if p.pos >= len(p.src) || p.src[p.pos] != '(' {
		return nil, p.errorf("expected ( after %s", name)
	}
	p.pos++
	c := &callExpr{name: name, fn: fn}
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == ')' {
		p.pos++
	} else {
		for {
			a, err := p.arg(depth)
			if err != nil {
				return nil, err
			}
			c.args = append(c.args, a)
			p.skipSpace()
			if p.pos >= len(p.src) {
				return nil, p.errorf("missing ) after the arguments of %s", name)
			}
			if p.src[p.pos] == ')' {
				p.pos++
				break
			}
			if p.src[p.pos] != ',' {
				return nil, p.errorf("expected , or ) in the arguments of %s, found %q", name, p.src[p.pos])
			}
			p.pos++
		}
	}
	if len(c.args) < fn.minArgs || (fn.maxArgs >= 0 && len(c.args) > fn.maxArgs) {
		return nil, p.errorf("%s takes %s, not %d", name, arity(fn), len(c.args))
	}
	if err := checkLiteralArgs(c); err != nil {
		return nil, p.errorf("%v", err)
	}
	return c, nil
}

func arity(fn *intrinsic) string {
	switch {
	case fn.maxArgs < 0:
		return fmt.Sprintf("at least %d arguments", fn.minArgs)
	case fn.minArgs == fn.maxArgs && fn.minArgs == 1:
		return "1 argument"
	case fn.minArgs == fn.maxArgs:
		return fmt.Sprintf("%d arguments", fn.minArgs)
	}
	return fmt.Sprintf("%d to %d arguments", fn.minArgs, fn.maxArgs)
}

// checkLiteralArgs catches at parse time what literal arguments make
// certain to fail at run time.
func checkLiteralArgs(c *callExpr) error {
	switch c.name {
	case "States.Format":
		lit, ok := c.args[0].(literalExpr)
		if !ok {
			return nil
		}
		if _, isString := lit.v.(string); !isString {
			return errors.New("the first argument of States.Format must be a string")
		}
		if len(lit.formatAt) != len(c.args)-1 {
			return fmt.Errorf("States.Format has %d {} placeholders but %d values", len(lit.formatAt), len(c.args)-1)
		}
	case "States.JsonMerge":
		if lit, ok := c.args[2].(literalExpr); ok && lit.v != false {
			return errors.New("States.JsonMerge supports only the shallow merge: its third argument must be false")
		}
	}
	return nil
}

func isIdentByte(c byte) bool {
	return c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
}

func (p *intrinsicParser) arg(depth int) (expr, error) {
	p.skipSpace()
	if p.pos >= len(p.src) {
		return nil, p.errorf("missing argument")
	}
	switch c := p.src[p.pos]; {
	case c == '\'':
		return p.stringLiteral()
	case c == '$':
		return p.pathArg()
	case c == '-' || ('0' <= c && c <= '9'):
		return p.numberLiteral()
	case strings.HasPrefix(p.src[p.pos:], "States."):
		return p.call(depth + 1)
	}
	for _, kw := range []struct {
		word string
		v    any
	}{{"true", true}, {"false", false}, {"null", nil}} {
		if rest, ok := strings.CutPrefix(p.src[p.pos:], kw.word); ok && (rest == "" || !isIdentByte(rest[0])) {
			p.pos += len(kw.word)
			return literalExpr{v: kw.v}, nil
		}
	}
	return nil, p.errorf("unexpected %q at offset %d", p.src[p.pos], p.pos)
}

// stringLiteral reads '...', where \' \{ \} and \\ stand for the character
// after the backslash and any other backslash is an error.
func (p *intrinsicParser) stringLiteral() (expr, error) {
	p.pos++ // opening quote
	var b []byte
	var escaped []bool
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch c {
		case '\'':
			p.pos++
			lit := literalExpr{v: string(b)}
			for i := 0; i+1 < len(b); i++ {
				if b[i] == '{' && b[i+1] == '}' && !escaped[i] && !escaped[i+1] {
					lit.formatAt = append(lit.formatAt, i)
				}
			}
			return lit, nil
		case '\\':
			if p.pos+1 >= len(p.src) || strings.IndexByte(`'{}\`, p.src[p.pos+1]) < 0 {
				return nil, p.errorf(`invalid escape at offset %d: only \', \{, \} and \\ are allowed`, p.pos)
			}
			b = append(b, p.src[p.pos+1])
			escaped = append(escaped, true)
			p.pos += 2
		default:
			b = append(b, c)
			escaped = append(escaped, false)
			p.pos++
		}
	}
	return nil, p.errorf("unterminated string")
}

func (p *intrinsicParser) numberLiteral() (expr, error) {
	start := p.pos
	for p.pos < len(p.src) && strings.IndexByte("+-.eE0123456789", p.src[p.pos]) >= 0 {
		p.pos++
	}
	text := p.src[start:p.pos]
	if !json.Valid([]byte(text)) {
		return nil, p.errorf("%q is not a number", text)
	}
	return literalExpr{v: json.Number(text)}, nil
}

// pathArg reads a path up to the , or ) that ends the argument, allowing
// either inside a quoted bracket field name.
func (p *intrinsicParser) pathArg() (expr, error) {
	start := p.pos
	var quote byte
	inBracket := false
scan:
	for ; p.pos < len(p.src); p.pos++ {
		c := p.src[p.pos]
		switch {
		case quote != 0:
			if c == '\\' {
				p.pos++
			} else if c == quote {
				quote = 0
			}
		case inBracket && (c == '\'' || c == '"'):
			quote = c
		case c == '[':
			inBracket = true
		case c == ']':
			inBracket = false
		case !inBracket && (c == ',' || c == ')'):
			break scan
		}
	}
	text := strings.TrimRight(p.src[start:min(p.pos, len(p.src))], " \t\r\n")
	pa, err := parsePath(text, true)
	if err != nil {
		return nil, err
	}
	return pathExpr{pa}, nil
}
