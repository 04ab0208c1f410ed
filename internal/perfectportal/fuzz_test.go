package perfectportal

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// The seed corpora are in testdata/fuzz/<FuzzName>/; the f.Add seeds below
// are the shapes every run should start from. Crashers the fuzzer finds are
// kept there as regression cases.

// checkFuzzError fails t unless err is a *ValueError of kind that wraps
// ErrEmpty exactly when in is empty or only space.
func checkFuzzError(t *testing.T, in string, err error, kind string) {
	t.Helper()
	var ve *ValueError
	if !errors.As(err, &ve) || ve.Kind != kind {
		t.Fatalf("%q: err = %#v, want a *ValueError of kind %q", in, err, kind)
	}
	if !strings.HasPrefix(err.Error(), kind+": ") {
		t.Fatalf("%q: Error() = %q, want the prefix %q", in, err.Error(), kind+": ")
	}
	if got, want := errors.Is(err, ErrEmpty), strings.TrimSpace(in) == ""; got != want {
		t.Fatalf("%q: errors.Is(err, ErrEmpty) = %v, want %v", in, got, want)
	}
}

var strictRFC3339 = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:[0-5]\d)$`)

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{
		"2026-03-01T09:30:00Z", "2026-07-01T09:30:00.123+01:00", "01/07/2026 09:30",
		"15/01/2026 09:30:45", "1/3/2026 9:05", "25/10/2026 01:30", "29/03/2026 01:30",
		"2026-07-01", "31/02/2026 10:00", "01/07/2026 24:00", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseTime(s)
		// Agreement with the standard library on strict RFC 3339, which
		// both read. (time.Parse alone is laxer: it takes a one-digit hour
		// or an offset of +00:60.)
		if strictRFC3339.MatchString(s) {
			std, serr := time.Parse(time.RFC3339, s)
			inRange := serr == nil && std.Year() >= 1 && std.UTC().Year() >= 1 && std.UTC().Year() <= 9999
			switch {
			case inRange && err != nil:
				t.Fatalf("ParseTime(%q): %v, but time.Parse reads it as %v", s, err, std)
			case inRange && !got.Equal(std):
				t.Fatalf("ParseTime(%q) = %v, time.Parse = %v", s, got, std)
			case !inRange && err == nil:
				t.Fatalf("ParseTime(%q) = %v, but time.Parse: %v", s, got, serr)
			}
		}
		if err != nil {
			checkFuzzError(t, s, err, "timestamp")
			return
		}
		if got.Location() != time.UTC {
			t.Fatalf("ParseTime(%q) = %v, not in UTC", s, got)
		}
		if y := got.Year(); y < 1 || y > 9999 {
			t.Fatalf("ParseTime(%q) = %v, outside the years 0001–9999", s, got)
		}
		// RFC 3339 round trip.
		rfc := got.Format(time.RFC3339Nano)
		back, err := ParseTime(rfc)
		if err != nil || !back.Equal(got) {
			t.Fatalf("ParseTime(%q) = %v; re-parsing %q gave %v, %v", s, got, rfc, back, err)
		}
		// UK local round trip: the London wall clock reads back as the same
		// instant, or, in the autumn hour that occurs twice, as its first
		// occurrence.
		whole := got.Truncate(time.Second)
		wall := whole.In(London)
		if wall.Year() < 1 {
			return
		}
		uk := wall.Format("02/01/2006 15:04:05")
		back, err = ParseTime(uk)
		if err != nil {
			t.Fatalf("ParseTime(%q) = %v; re-parsing London time %q: %v", s, got, uk, err)
		}
		if !back.Equal(whole) {
			first := back.Before(whole) && back.In(London).Format("02/01/2006 15:04:05") == uk
			if !first {
				t.Fatalf("ParseTime(%q) = %v; London time %q re-parsed as %v", s, got, uk, back)
			}
		}
	})
}

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{
		"2026-03-01", "01/03/2026", "1/3/2026", "29/02/2024", "31/02/2026",
		"01/03/2026 00:00", "2026-03-01T00:00:00Z", "03/31/2026", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDate(s)
		if err != nil {
			checkFuzzError(t, s, err, "date")
			return
		}
		if d.IsZero() {
			t.Fatalf("ParseDate(%q) = the zero Date with no error", s)
		}
		// A real day: time.Date does not have to normalise it.
		if n := time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC); n.Year() != d.Year || n.Month() != d.Month || n.Day() != d.Day {
			t.Fatalf("ParseDate(%q) = %+v, which is not a real day", s, d)
		}
		for _, form := range []string{d.String(), fmt.Sprintf("%02d/%02d/%04d", d.Day, int(d.Month), d.Year)} {
			back, err := ParseDate(form)
			if err != nil || back != d {
				t.Fatalf("ParseDate(%q) = %v; re-parsing %q gave %v, %v", s, d, form, back, err)
			}
		}
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatalf("Marshal(%v): %v", d, err)
		}
		var back Date
		if err := json.Unmarshal(b, &back); err != nil || back != d {
			t.Fatalf("ParseDate(%q) = %v; JSON %s read back as %v, %v", s, d, b, back, err)
		}
		// ParseTime reads a date alone as midnight in London.
		at, err := ParseTime(s)
		if err != nil {
			t.Fatalf("ParseDate(%q) = %v, but ParseTime: %v", s, d, err)
		}
		if l := at.In(London); l.Year() != d.Year || l.Month() != d.Month || l.Day() != d.Day || l.Hour() != 0 || l.Minute() != 0 {
			t.Fatalf("ParseDate(%q) = %v, but ParseTime gives %v in London", s, d, l)
		}
	})
}

func FuzzParseMoney(f *testing.F) {
	for _, s := range []string{
		"1234.5", "1,234.50", "£1,234.50", "GBP 1,234.50", "-£5", "£-5", "(1,234.50)",
		" 1234 ", "1,23,4", "1.234", "92233720368547758.08", "",
	} {
		f.Add(s)
	}
	hundred := big.NewRat(100, 1)
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMoney(s)
		if err != nil {
			checkFuzzError(t, s, err, "money")
		}
		// A plain decimal must be read exactly, and rejected only when it
		// does not fit.
		if plainDecimal(s) {
			r, ok := new(big.Rat).SetString(s)
			if !ok {
				t.Fatalf("test bug: big.Rat cannot read %q", s)
			}
			pence := r.Mul(r, hundred)
			fits := pence.IsInt() && pence.Num().IsInt64()
			switch {
			case fits && err != nil:
				t.Fatalf("ParseMoney(%q): %v, want %s pence", s, err, pence.Num())
			case fits && int64(m) != pence.Num().Int64():
				t.Fatalf("ParseMoney(%q) = %d, want %s pence", s, m, pence.Num())
			case !fits && err == nil:
				t.Fatalf("ParseMoney(%q) = %d, want an overflow error", s, m)
			}
		}
		if err != nil {
			return
		}
		forms := []string{m.String(), "£" + m.String(), "GBP " + m.String(), groupThousands(m)}
		if m < 0 {
			forms = append(forms, "("+strings.TrimPrefix(m.String(), "-")+")", "£"+m.String())
		}
		for _, form := range forms {
			back, err := ParseMoney(form)
			if err != nil || back != m {
				t.Fatalf("ParseMoney(%q) = %d; re-parsing %q gave %d, %v", s, m, form, back, err)
			}
		}
	})
}

// plainDecimal reports whether s is -?digits(.d|.dd)? with no other text.
func plainDecimal(s string) bool {
	s = strings.TrimPrefix(s, "-")
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" || strings.Trim(whole, "0123456789") != "" {
		return false
	}
	return !dot || (len(frac) >= 1 && len(frac) <= 2 && strings.Trim(frac, "0123456789") == "")
}

// groupThousands writes m as 1,234,567.89.
func groupThousands(m Money) string {
	s := m.String()
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	whole, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return sign + b.String() + "." + frac
}

func FuzzNormalizeHeader(f *testing.F) {
	for _, s := range []string{
		"Matter Number", " matter-number ", "MATTER__NUMBER", "custom.Lender Ref",
		"Custom.Lender Ref", "\ufeffmatter_id", "\tMatter\tNumber\t", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := NormalizeHeader(s)
		if again := NormalizeHeader(got); again != got {
			t.Fatalf("NormalizeHeader(%q) = %q, but NormalizeHeader(%q) = %q: not idempotent", s, got, got, again)
		}
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Fatalf("NormalizeHeader(%q) = %q, not valid UTF-8", s, got)
		}
		if name, custom := strings.CutPrefix(got, CustomColumnPrefix); custom {
			if strings.TrimSpace(name) != name {
				t.Fatalf("NormalizeHeader(%q) = %q: custom name not trimmed", s, got)
			}
			return
		}
		if strings.Contains(got, "__") || strings.HasPrefix(got, "_") || strings.HasSuffix(got, "_") {
			t.Fatalf("NormalizeHeader(%q) = %q: stray separators", s, got)
		}
		if strings.ContainsAny(got, " \t-") {
			t.Fatalf("NormalizeHeader(%q) = %q: separators not turned into '_'", s, got)
		}
		if strings.ToLower(got) != got {
			t.Fatalf("NormalizeHeader(%q) = %q: not lower case", s, got)
		}
		if isASCII(s) {
			if up := NormalizeHeader(strings.ToUpper(s)); up != got {
				t.Fatalf("NormalizeHeader(%q) = %q, but upper-cased gives %q", s, got, up)
			}
		}
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
