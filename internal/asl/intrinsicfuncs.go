package asl

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	mrand "math/rand/v2"
	"strings"
	"unicode/utf8"
)

// The intrinsic functions themselves: each gets its arguments' values and
// returns its result. Argument counts are checked when the definition is
// parsed; types and values here, where a mismatch is a States.Runtime
// error of the state that evaluates the call.

type intrinsic struct {
	minArgs, maxArgs int // maxArgs < 0: any number
	call             func(e *env, c *callExpr, args []any) (any, error)
}

var intrinsics map[string]*intrinsic

func init() {
	intrinsics = map[string]*intrinsic{
		"States.Format":         {1, -1, fnFormat},
		"States.StringToJson":   {1, 1, fnStringToJSON},
		"States.JsonToString":   {1, 1, fnJSONToString},
		"States.Array":          {0, -1, fnArray},
		"States.ArrayPartition": {2, 2, fnArrayPartition},
		"States.ArrayContains":  {2, 2, fnArrayContains},
		"States.ArrayRange":     {3, 3, fnArrayRange},
		"States.ArrayGetItem":   {2, 2, fnArrayGetItem},
		"States.ArrayLength":    {1, 1, fnArrayLength},
		"States.ArrayUnique":    {1, 1, fnArrayUnique},
		"States.Base64Encode":   {1, 1, fnBase64Encode},
		"States.Base64Decode":   {1, 1, fnBase64Decode},
		"States.Hash":           {2, 2, fnHash},
		"States.JsonMerge":      {3, 3, fnJSONMerge},
		"States.MathRandom":     {2, 3, fnMathRandom},
		"States.MathAdd":        {2, 2, fnMathAdd},
		"States.StringSplit":    {2, 2, fnStringSplit},
		"States.UUID":           {0, 0, fnUUID},
	}
}

func fnFormat(_ *env, c *callExpr, args []any) (any, error) {
	tmpl, ok := args[0].(string)
	if !ok {
		return nil, fmt.Errorf("the first argument must be a string, not a %s", typeName(args[0]))
	}
	var at []int
	if lit, ok := c.args[0].(literalExpr); ok {
		at = lit.formatAt
	} else {
		for i := 0; i+1 < len(tmpl); i++ {
			if tmpl[i] == '{' && tmpl[i+1] == '}' {
				at = append(at, i)
				i++
			}
		}
	}
	if len(at) != len(args)-1 {
		return nil, fmt.Errorf("the template has %d {} placeholders but %d values were given", len(at), len(args)-1)
	}
	var b strings.Builder
	last := 0
	for i, pos := range at {
		b.WriteString(tmpl[last:pos])
		b.WriteString(formatValue(args[i+1]))
		last = pos + 2
	}
	b.WriteString(tmpl[last:])
	return b.String(), nil
}

// formatValue renders a value inside States.Format: strings as they are,
// other scalars as JSON, arrays and objects in the Java style Step Functions
// uses ([a, b] and {k=v}).
func formatValue(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case []any:
		parts := make([]string, len(t))
		for i, e := range t {
			parts[i] = formatValue(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case *object:
		parts := make([]string, len(t.keys))
		for i, k := range t.keys {
			parts[i] = k + "=" + formatValue(t.vals[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return string(encodeJSON(v))
}

func fnStringToJSON(_ *env, _ *callExpr, args []any) (any, error) {
	s, ok := args[0].(string)
	if !ok {
		return nil, fmt.Errorf("the argument must be a string, not a %s", typeName(args[0]))
	}
	v, err := decodeJSON([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("the string is not JSON: %v", err)
	}
	return v, nil
}

func fnJSONToString(_ *env, _ *callExpr, args []any) (any, error) {
	return string(encodeJSON(args[0])), nil
}

func fnArray(_ *env, _ *callExpr, args []any) (any, error) {
	return append([]any{}, args...), nil
}

// intArg reads an integer argument, rounding a non-integer half up as Step
// Functions does.
func intArg(v any, what string) (int64, error) {
	if i, ok := asInteger(v); ok {
		return i, nil
	}
	f, ok := asFloat(v)
	if !ok {
		return 0, fmt.Errorf("%s must be a number, not a %s", what, typeName(v))
	}
	r := roundHalfUp(f)
	if r < -(1<<53) || r > 1<<53 {
		return 0, fmt.Errorf("%s %v is out of range", what, f)
	}
	return int64(r), nil
}

func arrayArg(v any, what string) ([]any, error) {
	a, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s must be an array, not a %s", what, typeName(v))
	}
	return a, nil
}

func fnArrayPartition(_ *env, _ *callExpr, args []any) (any, error) {
	arr, err := arrayArg(args[0], "the first argument")
	if err != nil {
		return nil, err
	}
	size, err := intArg(args[1], "the chunk size")
	if err != nil {
		return nil, err
	}
	if size <= 0 {
		return nil, fmt.Errorf("the chunk size must be positive, not %d", size)
	}
	out := []any{}
	for start := 0; start < len(arr); start += int(size) {
		end := min(start+int(size), len(arr))
		out = append(out, append([]any{}, arr[start:end]...))
	}
	return out, nil
}

func fnArrayContains(_ *env, _ *callExpr, args []any) (any, error) {
	arr, err := arrayArg(args[0], "the first argument")
	if err != nil {
		return nil, err
	}
	for _, e := range arr {
		if equalValues(e, args[1]) {
			return true, nil
		}
	}
	return false, nil
}

// maxArrayRange is the most items States.ArrayRange may produce.
const maxArrayRange = 1000

func fnArrayRange(_ *env, _ *callExpr, args []any) (any, error) {
	var n [3]int64
	for i, what := range []string{"the start", "the end", "the step"} {
		v, err := intArg(args[i], what)
		if err != nil {
			return nil, err
		}
		n[i] = v
	}
	start, end, step := n[0], n[1], n[2]
	if step == 0 {
		return nil, errors.New("the step must not be 0")
	}
	out := []any{}
	for v := start; (step > 0 && v <= end) || (step < 0 && v >= end); v += step {
		if len(out) == maxArrayRange {
			return nil, fmt.Errorf("the range has more than %d items", maxArrayRange)
		}
		out = append(out, intNumber(v))
	}
	return out, nil
}

func fnArrayGetItem(_ *env, _ *callExpr, args []any) (any, error) {
	arr, err := arrayArg(args[0], "the first argument")
	if err != nil {
		return nil, err
	}
	i, err := intArg(args[1], "the index")
	if err != nil {
		return nil, err
	}
	if i < 0 || i >= int64(len(arr)) {
		return nil, fmt.Errorf("index %d is out of range for an array of %d items", i, len(arr))
	}
	return arr[i], nil
}

func fnArrayLength(_ *env, _ *callExpr, args []any) (any, error) {
	arr, err := arrayArg(args[0], "the argument")
	if err != nil {
		return nil, err
	}
	return intNumber(int64(len(arr))), nil
}

func fnArrayUnique(_ *env, _ *callExpr, args []any) (any, error) {
	arr, err := arrayArg(args[0], "the argument")
	if err != nil {
		return nil, err
	}
	out := []any{}
	seen := map[string]bool{} // fast path for scalars; equalValues settles the rest
next:
	for _, e := range arr {
		switch e.(type) {
		case nil, bool, string:
			k := string(encodeJSON(e))
			if seen[k] {
				continue next
			}
			seen[k] = true
		default:
			for _, o := range out {
				if equalValues(o, e) {
					continue next
				}
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// maxCodecInput is the longest string States.Base64Encode, Base64Decode and
// Hash accept.
const maxCodecInput = 10000

func stringArg(v any, what string) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s must be a string, not a %s", what, typeName(v))
	}
	if utf8.RuneCountInString(s) > maxCodecInput {
		return "", fmt.Errorf("%s is longer than %d characters", what, maxCodecInput)
	}
	return s, nil
}

func fnBase64Encode(_ *env, _ *callExpr, args []any) (any, error) {
	s, err := stringArg(args[0], "the argument")
	if err != nil {
		return nil, err
	}
	return base64.StdEncoding.EncodeToString([]byte(s)), nil
}

func fnBase64Decode(_ *env, _ *callExpr, args []any) (any, error) {
	s, err := stringArg(args[0], "the argument")
	if err != nil {
		return nil, err
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("the argument is not base64: %v", err)
	}
	if !utf8.Valid(b) {
		return nil, errors.New("the decoded data is not UTF-8 text")
	}
	return string(b), nil
}

var hashes = map[string]func() hash.Hash{
	"MD5":     md5.New,
	"SHA-1":   sha1.New,
	"SHA-256": sha256.New,
	"SHA-384": sha512.New384,
	"SHA-512": sha512.New,
}

func fnHash(_ *env, _ *callExpr, args []any) (any, error) {
	s, err := stringArg(args[0], "the data")
	if err != nil {
		return nil, err
	}
	alg, _ := args[1].(string)
	newHash, ok := hashes[alg]
	if !ok {
		return nil, fmt.Errorf("the algorithm must be one of MD5, SHA-1, SHA-256, SHA-384, SHA-512, not %s", encodeJSON(args[1]))
	}
	h := newHash()
	h.Write([]byte(s))
	return hex.EncodeToString(h.Sum(nil)), nil
}

func fnJSONMerge(_ *env, _ *callExpr, args []any) (any, error) {
	a, ok := args[0].(*object)
	if !ok {
		return nil, fmt.Errorf("the first argument must be an object, not a %s", typeName(args[0]))
	}
	b, ok := args[1].(*object)
	if !ok {
		return nil, fmt.Errorf("the second argument must be an object, not a %s", typeName(args[1]))
	}
	if args[2] != false {
		return nil, fmt.Errorf("only the shallow merge is supported: the third argument must be false, not %s", encodeJSON(args[2]))
	}
	out := newObject(len(a.keys) + len(b.keys))
	for _, k := range a.keys {
		out.set(k, a.vals[k])
	}
	for _, k := range b.keys {
		out.set(k, b.vals[k])
	}
	return out, nil
}

// int32 bounds the integer arguments of the math intrinsics, as in Step
// Functions.
const minInt32, maxInt32 = -1 << 31, 1<<31 - 1

func int32Arg(v any, what string) (int64, error) {
	i, err := intArg(v, what)
	if err != nil {
		return 0, err
	}
	if i < minInt32 || i > maxInt32 {
		return 0, fmt.Errorf("%s %d is outside %d..%d", what, i, minInt32, maxInt32)
	}
	return i, nil
}

// fnMathRandom returns an integer from start (inclusive) to end
// (exclusive); with a seed, the same one each time.
func fnMathRandom(e *env, _ *callExpr, args []any) (any, error) {
	start, err := int32Arg(args[0], "the start")
	if err != nil {
		return nil, err
	}
	end, err := int32Arg(args[1], "the end")
	if err != nil {
		return nil, err
	}
	if end <= start {
		return nil, fmt.Errorf("the end (%d) must be greater than the start (%d)", end, start)
	}
	f := e.random()
	if len(args) == 3 {
		seed, err := intArg(args[2], "the seed")
		if err != nil {
			return nil, err
		}
		f = mrand.New(mrand.NewPCG(uint64(seed), 0)).Float64()
	}
	return intNumber(start + int64(f*float64(end-start))), nil
}

func fnMathAdd(_ *env, _ *callExpr, args []any) (any, error) {
	a, err := int32Arg(args[0], "the first argument")
	if err != nil {
		return nil, err
	}
	b, err := int32Arg(args[1], "the second argument")
	if err != nil {
		return nil, err
	}
	return intNumber(a + b), nil
}

// fnStringSplit splits at any of the delimiter characters and drops empty
// pieces.
func fnStringSplit(_ *env, _ *callExpr, args []any) (any, error) {
	s, ok := args[0].(string)
	if !ok {
		return nil, fmt.Errorf("the first argument must be a string, not a %s", typeName(args[0]))
	}
	delims, ok := args[1].(string)
	if !ok {
		return nil, fmt.Errorf("the delimiters must be a string, not a %s", typeName(args[1]))
	}
	out := []any{}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(delims, r) }) {
		out = append(out, f)
	}
	return out, nil
}

func fnUUID(*env, *callExpr, []any) (any, error) { return newUUID(), nil }

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
