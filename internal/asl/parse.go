package asl

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// Machine is a parsed and validated state machine definition. It is safe
// for concurrent use: any number of executions may run it at once.
type Machine struct {
	source  []byte
	root    *branch
	timeout time.Duration // the definition's TimeoutSeconds; 0 for none
}

// branch is a StartAt and its States: the machine itself, a Parallel branch
// or a Map's item processor.
type branch struct {
	startAt string
	states  map[string]*state
	order   []string // state names in definition order
}

type state struct {
	name string
	typ  string
	next string // "" with end
	end  bool

	inputPath      optPath
	outputPath     optPath
	resultPath     optPath
	parameters     *template
	resultSelector *template
	retry          []*retrier
	catch          []*catcher

	task     *taskSpec
	pass     *passSpec
	choice   *choiceSpec
	wait     *waitSpec
	fail     *failSpec
	mapSpec  *mapSpec
	branches []*branch // Parallel
}

// optPath is InputPath, OutputPath or ResultPath: absent means "$", null
// means {} for InputPath and OutputPath and "discard the result" for
// ResultPath.
type optPath struct {
	null bool
	p    *path // nil for "$"
}

type resourceKind int

const (
	resourceFunction   resourceKind = iota // a Lambda function ARN or name: the handler's output is the result
	resourceInvoke                         // arn:aws:states:::lambda:invoke
	resourceInvokeWait                     // arn:aws:states:::lambda:invoke.waitForTaskToken
)

type taskSpec struct {
	resource    string
	kind        resourceKind
	timeout     time.Duration
	timeoutPath *path
}

type passSpec struct {
	result    any
	hasResult bool
}

type choiceSpec struct {
	rules []*choiceRule
	deflt string
}

type waitSpec struct {
	seconds       int64
	secondsPath   *path
	timestamp     *time.Time
	timestampPath *path
}

type failSpec struct {
	errName, cause       string
	errorPath, causePath expr
}

type mapSpec struct {
	itemsPath          *path // nil for "$"
	itemSelector       *template
	processor          *branch
	maxConcurrency     int
	maxConcurrencyPath *path
}

type retrier struct {
	errorEquals []string
	interval    float64 // seconds
	maxAttempts int
	backoffRate float64
	maxDelay    float64 // seconds; 0 for no cap
	jitterFull  bool
}

type catcher struct {
	errorEquals []string
	next        string
	resultPath  optPath
}

// Limits Step Functions puts on numeric fields.
const (
	maxTimeoutSeconds   = 99999999
	maxRetrySeconds     = 99999999
	maxDelayLimit       = 31622400
	maxWaitSeconds      = 99999999
	maxConcurrencyValue = math.MaxInt32
)

// Parse parses and validates a state machine definition in the Amazon
// States Language. A definition that is invalid, or that uses a feature the
// embedded executor does not implement, is refused with a
// *DefinitionError naming the state and field.
//
// Placeholders such as ${ExtractFunctionArn} are ordinary text to Parse;
// use Substitute first, or Options.Substitutions, to replace them.
func Parse(data []byte) (*Machine, error) {
	v, err := decodeJSON(data)
	if err != nil {
		return nil, &DefinitionError{Problem: "the definition is not JSON: " + err.Error()}
	}
	obj, ok := v.(*object)
	if !ok {
		return nil, &DefinitionError{Problem: "the definition must be a JSON object"}
	}
	m := &Machine{source: append([]byte(nil), data...)}
	if err := checkFields(obj, "", "", []string{"StartAt", "States", "Comment", "Version", "TimeoutSeconds", "QueryLanguage"}, "the definition's top level"); err != nil {
		return nil, err
	}
	if err := checkQueryLanguage(obj, ""); err != nil {
		return nil, err
	}
	if v, ok := obj.get("Version"); ok && v != "1.0" {
		return nil, &DefinitionError{Field: "Version", Problem: `must be "1.0"`}
	}
	if v, ok := obj.get("TimeoutSeconds"); ok {
		n, ok := intIn(v, 1, maxTimeoutSeconds)
		if !ok {
			return nil, &DefinitionError{Field: "TimeoutSeconds", Problem: fmt.Sprintf("must be an integer from 1 to %d", maxTimeoutSeconds)}
		}
		m.timeout = time.Duration(n) * time.Second
	}
	if m.root, err = parseBranch(obj, "", ""); err != nil {
		return nil, err
	}
	return m, nil
}

// checkFields refuses fields a part of the definition must not have,
// telling the ones the executor knows but does not implement from the ones
// that are simply wrong.
func checkFields(obj *object, state, prefix string, allowed []string, what string) error {
	for _, k := range obj.keys {
		if slices.Contains(allowed, k) {
			continue
		}
		if unsupportedFields[k] {
			return &DefinitionError{State: state, Field: prefix + k, Problem: errUnsupported.Error()}
		}
		return &DefinitionError{State: state, Field: prefix + k, Problem: "is not a valid field of " + what}
	}
	return nil
}

// unsupportedFields are Amazon States Language fields the embedded executor
// refuses rather than ignores.
var unsupportedFields = map[string]bool{
	"Arguments": true, "Output": true, "Assign": true, "Items": true, // JSONata and variables
	"Credentials": true,
	"ItemReader":  true, "ResultWriter": true, "ItemBatcher": true, "Label": true, // distributed Map
	"ToleratedFailurePercentage": true, "ToleratedFailurePercentagePath": true,
	"ToleratedFailureCount": true, "ToleratedFailureCountPath": true,
}

func checkQueryLanguage(obj *object, state string) error {
	v, ok := obj.get("QueryLanguage")
	if !ok || v == "JSONPath" {
		return nil
	}
	if v == "JSONata" {
		return &DefinitionError{State: state, Field: "QueryLanguage", Problem: `is "JSONata", which is not supported by the embedded executor: only JSONPath is`}
	}
	return &DefinitionError{State: state, Field: "QueryLanguage", Problem: `must be "JSONPath" or "JSONata"`}
}

// parseBranch parses StartAt and States; owner and prefix place errors in
// fields of an enclosing Map or Parallel state.
func parseBranch(obj *object, owner, prefix string) (*branch, error) {
	startAt, ok := obj.get("StartAt")
	s, isString := startAt.(string)
	if !ok || !isString || s == "" {
		return nil, &DefinitionError{State: owner, Field: prefix + "StartAt", Problem: "is required and must be a state name"}
	}
	statesV, _ := obj.get("States")
	states, ok := statesV.(*object)
	if !ok || len(states.keys) == 0 {
		return nil, &DefinitionError{State: owner, Field: prefix + "States", Problem: "is required and must be an object of states"}
	}
	b := &branch{startAt: s, states: map[string]*state{}, order: states.keys}
	for _, name := range states.keys {
		if name == "" || len(name) > 80 {
			return nil, &DefinitionError{State: name, Problem: "a state name must be 1 to 80 characters"}
		}
		st, err := parseState(name, states.vals[name])
		if err != nil {
			return nil, err
		}
		b.states[name] = st
	}
	if _, ok := b.states[s]; !ok {
		return nil, &DefinitionError{State: owner, Field: prefix + "StartAt", Problem: fmt.Sprintf("names state %q, which is not in States", s)}
	}
	if err := b.checkTransitions(); err != nil {
		return nil, err
	}
	return b, nil
}

// checkTransitions checks that every transition stays inside the branch and
// that every state can be reached from StartAt.
func (b *branch) checkTransitions() error {
	for _, name := range b.order {
		for _, t := range b.states[name].transitions() {
			if _, ok := b.states[t.to]; !ok {
				return &DefinitionError{State: name, Field: t.field, Problem: fmt.Sprintf("names state %q, which does not exist (or is not in the same branch)", t.to)}
			}
		}
	}
	reached := map[string]bool{b.startAt: true}
	queue := []string{b.startAt}
	for len(queue) > 0 {
		st := b.states[queue[0]]
		queue = queue[1:]
		for _, t := range st.transitions() {
			if !reached[t.to] {
				reached[t.to] = true
				queue = append(queue, t.to)
			}
		}
	}
	for _, name := range b.order {
		if !reached[name] {
			return &DefinitionError{State: name, Problem: "is not reachable from StartAt"}
		}
	}
	return nil
}

type transition struct{ field, to string }

func (s *state) transitions() []transition {
	var ts []transition
	if s.next != "" {
		ts = append(ts, transition{"Next", s.next})
	}
	if s.choice != nil {
		for i, r := range s.choice.rules {
			ts = append(ts, transition{fmt.Sprintf("Choices[%d].Next", i), r.next})
		}
		if s.choice.deflt != "" {
			ts = append(ts, transition{"Default", s.choice.deflt})
		}
	}
	for i, c := range s.catch {
		ts = append(ts, transition{fmt.Sprintf("Catch[%d].Next", i), c.next})
	}
	return ts
}

var stateFields = map[string][]string{
	"Pass":     {"Next", "End", "InputPath", "OutputPath", "Parameters", "ResultPath", "Result"},
	"Task":     {"Next", "End", "InputPath", "OutputPath", "Parameters", "ResultSelector", "ResultPath", "Retry", "Catch", "Resource", "TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds", "HeartbeatSecondsPath"},
	"Choice":   {"Choices", "Default", "InputPath", "OutputPath"},
	"Wait":     {"Next", "End", "InputPath", "OutputPath", "Seconds", "SecondsPath", "Timestamp", "TimestampPath"},
	"Succeed":  {"InputPath", "OutputPath"},
	"Fail":     {"Error", "ErrorPath", "Cause", "CausePath"},
	"Parallel": {"Next", "End", "InputPath", "OutputPath", "Parameters", "ResultSelector", "ResultPath", "Retry", "Catch", "Branches"},
	"Map":      {"Next", "End", "InputPath", "OutputPath", "ItemsPath", "ItemSelector", "Parameters", "ItemProcessor", "Iterator", "MaxConcurrency", "MaxConcurrencyPath", "ResultSelector", "ResultPath", "Retry", "Catch"},
}

// stateParser reads one state's fields, producing errors that name them.
type stateParser struct {
	name string
	obj  *object
}

func (p *stateParser) errorf(field, format string, args ...any) error {
	return &DefinitionError{State: p.name, Field: field, Problem: fmt.Sprintf(format, args...)}
}

func (p *stateParser) get(field string) (any, bool) { return p.obj.get(field) }

func (p *stateParser) str(field string) (string, bool, error) {
	v, ok := p.obj.get(field)
	if !ok {
		return "", false, nil
	}
	s, isString := v.(string)
	if !isString {
		return "", true, p.errorf(field, "must be a string, not a %s", typeName(v))
	}
	return s, true, nil
}

func (p *stateParser) path(field string, allowContext bool) (*path, error) {
	s, ok, err := p.str(field)
	if err != nil || !ok {
		return nil, err
	}
	pa, err := parsePath(s, allowContext)
	if err != nil {
		return nil, p.errorf(field, "is invalid: %v", err)
	}
	return pa, nil
}

func (p *stateParser) optPath(field string, allowContext bool) (optPath, error) {
	v, ok := p.obj.get(field)
	if !ok {
		return optPath{}, nil
	}
	if v == nil {
		return optPath{null: true}, nil
	}
	pa, err := p.path(field, allowContext)
	if err != nil {
		return optPath{}, err
	}
	if len(pa.segs) == 0 && !pa.context {
		return optPath{}, nil
	}
	return optPath{p: pa}, nil
}

func (p *stateParser) template(field string) (*template, error) {
	v, ok := p.obj.get(field)
	if !ok {
		return nil, nil
	}
	t, err := compileTemplate(v)
	if err != nil {
		var de *DefinitionError
		if errors.As(err, &de) {
			return nil, err
		}
		return nil, p.errorf(field, "is invalid: %v", err)
	}
	return t, nil
}

func parseState(name string, v any) (*state, error) {
	obj, ok := v.(*object)
	if !ok {
		return nil, &DefinitionError{State: name, Problem: "a state must be a JSON object"}
	}
	p := &stateParser{name: name, obj: obj}
	typ, ok, err := p.str("Type")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, p.errorf("Type", "is required")
	}
	allowed, known := stateFields[typ]
	if !known {
		return nil, p.errorf("Type", "is %q, which is not a state type (Task, Pass, Choice, Wait, Succeed, Fail, Parallel, Map)", typ)
	}
	if err := checkFields(obj, name, "", append([]string{"Type", "Comment", "QueryLanguage"}, allowed...), "a "+typ+" state"); err != nil {
		return nil, err
	}
	if err := checkQueryLanguage(obj, name); err != nil {
		return nil, err
	}
	s := &state{name: name, typ: typ}
	if err := p.common(s); err != nil {
		return nil, err
	}
	switch typ {
	case "Task":
		err = p.task(s)
	case "Pass":
		s.pass = &passSpec{}
		s.pass.result, s.pass.hasResult = obj.get("Result")
	case "Choice":
		err = p.choice(s)
	case "Wait":
		err = p.wait(s)
	case "Fail":
		err = p.fail(s)
	case "Map":
		err = p.mapState(s)
	case "Parallel":
		err = p.parallel(s)
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// common reads the transition, the path and template fields and Retry and
// Catch, which checkFields has already limited to the state types that
// have them.
func (p *stateParser) common(s *state) error {
	next, hasNext, err := p.str("Next")
	if err != nil {
		return err
	}
	endV, hasEnd := p.get("End")
	if hasEnd {
		b, ok := endV.(bool)
		if !ok {
			return p.errorf("End", "must be true or false")
		}
		s.end = b
	}
	switch s.typ {
	case "Choice", "Succeed", "Fail":
	default:
		if hasNext == s.end {
			return p.errorf("", `needs exactly one of "Next" or "End": true`)
		}
		if hasNext && next == "" {
			return p.errorf("Next", "must be a state name")
		}
		s.next = next
	}
	if s.inputPath, err = p.optPath("InputPath", true); err != nil {
		return err
	}
	if s.outputPath, err = p.optPath("OutputPath", true); err != nil {
		return err
	}
	if s.resultPath, err = p.optPath("ResultPath", false); err != nil {
		return err
	}
	if s.typ != "Map" { // a Map's Parameters is its ItemSelector
		if s.parameters, err = p.template("Parameters"); err != nil {
			return err
		}
	}
	if s.resultSelector, err = p.template("ResultSelector"); err != nil {
		return err
	}
	if s.retry, err = p.retriers(); err != nil {
		return err
	}
	s.catch, err = p.catchers()
	return err
}

// intIn reads an integer from lo to hi.
func intIn(v any, lo, hi int64) (int64, bool) {
	n, ok := asInteger(v)
	return n, ok && n >= lo && n <= hi
}
