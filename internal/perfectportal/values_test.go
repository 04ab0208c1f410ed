package perfectportal

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func utc(y int, mo time.Month, d, h, mi, s, ns int) time.Time {
	return time.Date(y, mo, d, h, mi, s, ns, time.UTC)
}

// checkValueError fails t unless err is a *ValueError of kind whose message
// contains want, and wraps ErrEmpty exactly when empty.
func checkValueError(t *testing.T, err error, kind, want string, empty bool) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want a %s error containing %q", kind, want)
	}
	var ve *ValueError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %T %v, want *ValueError", err, err)
	}
	if ve.Kind != kind {
		t.Errorf("Kind = %q, want %q", ve.Kind, kind)
	}
	if !strings.HasPrefix(err.Error(), kind+": ") {
		t.Errorf("Error() = %q, want it to start with %q", err.Error(), kind+": ")
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("Error() = %q, want it to contain %q", err.Error(), want)
	}
	if got := errors.Is(err, ErrEmpty); got != empty {
		t.Errorf("errors.Is(err, ErrEmpty) = %v, want %v", got, empty)
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want time.Time
	}{
		{"rfc3339 Z", "2026-03-01T09:30:00Z", utc(2026, 3, 1, 9, 30, 0, 0)},
		{"rfc3339 lower-case t and z", "2026-03-01t09:30:00z", utc(2026, 3, 1, 9, 30, 0, 0)},
		{"rfc3339 space for T", "2026-03-01 09:30:00Z", utc(2026, 3, 1, 9, 30, 0, 0)},
		{"rfc3339 +01:00", "2026-07-01T09:30:00+01:00", utc(2026, 7, 1, 8, 30, 0, 0)},
		{"rfc3339 -05:00", "2026-01-15T09:30:00-05:00", utc(2026, 1, 15, 14, 30, 0, 0)},
		{"rfc3339 +05:30", "2026-01-15T09:30:00+05:30", utc(2026, 1, 15, 4, 0, 0, 0)},
		{"rfc3339 fractional", "2026-03-01T09:30:00.25Z", utc(2026, 3, 1, 9, 30, 0, 250_000_000)},
		{"rfc3339 nanoseconds", "2026-07-01T09:30:00.123456789+01:00", utc(2026, 7, 1, 8, 30, 0, 123456789)},
		{"rfc3339 beyond nanoseconds", "2026-03-01T09:30:00.1234567891Z", utc(2026, 3, 1, 9, 30, 0, 123456789)},
		{"rfc3339 without seconds", "2026-03-01T09:30Z", utc(2026, 3, 1, 9, 30, 0, 0)},
		{"uk summer", "01/07/2026 09:30", utc(2026, 7, 1, 8, 30, 0, 0)},
		{"uk winter", "15/01/2026 09:30", utc(2026, 1, 15, 9, 30, 0, 0)},
		{"uk with seconds", "15/01/2026 09:30:45", utc(2026, 1, 15, 9, 30, 45, 0)},
		{"uk summer with seconds", "01/07/2026 23:59:59", utc(2026, 7, 1, 22, 59, 59, 0)},
		{"uk single digits", "1/3/2026 9:05", utc(2026, 3, 1, 9, 5, 0, 0)},
		{"uk two spaces", "1/3/2026  9:05", utc(2026, 3, 1, 9, 5, 0, 0)},
		{"surrounding space", "  01/07/2026 09:30\t", utc(2026, 7, 1, 8, 30, 0, 0)},
		{"summer to previous day", "01/07/2026 00:30", utc(2026, 6, 30, 23, 30, 0, 0)},
		{"autumn before the repeated hour", "25/10/2026 00:59", utc(2026, 10, 24, 23, 59, 0, 0)},
		{"autumn repeated hour takes BST", "25/10/2026 01:30", utc(2026, 10, 25, 0, 30, 0, 0)},
		{"autumn after the repeated hour", "25/10/2026 02:00", utc(2026, 10, 25, 2, 0, 0, 0)},
		{"spring before the gap", "29/03/2026 00:59", utc(2026, 3, 29, 0, 59, 0, 0)},
		{"spring gap read as GMT", "29/03/2026 01:30", utc(2026, 3, 29, 1, 30, 0, 0)},
		{"spring gap start", "29/03/2026 01:00", utc(2026, 3, 29, 1, 0, 0, 0)},
		{"spring after the gap", "29/03/2026 02:00", utc(2026, 3, 29, 1, 0, 0, 0)},
		{"iso date alone, summer", "2026-07-01", utc(2026, 6, 30, 23, 0, 0, 0)},
		{"uk date alone, summer", "01/07/2026", utc(2026, 6, 30, 23, 0, 0, 0)},
		{"uk date alone, winter", "15/01/2026", utc(2026, 1, 15, 0, 0, 0, 0)},
		{"leap day", "29/02/2028 12:00", utc(2028, 2, 29, 12, 0, 0, 0)},
		{"1940s double summer time", "01/07/1944 12:00", utc(1944, 7, 1, 10, 0, 0, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTime(tt.in)
			if err != nil {
				t.Fatalf("ParseTime(%q): %v", tt.in, err)
			}
			if !got.Equal(tt.want) || got.Location() != time.UTC {
				t.Errorf("ParseTime(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseTimeErrors(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		want  string // part of the message
		empty bool
	}{
		{"empty", "", "empty", true},
		{"space only", "  \t ", "empty", true},
		{"junk", "next Tuesday", `"next Tuesday" is not a date; use DD/MM/YYYY HH:MM`, false},
		{"31 February", "31/02/2026 10:00", `"31/02/2026 10:00" is not a real day (February 2026 has 28 days); use DD/MM/YYYY HH:MM (UK time) or RFC 3339`, false},
		{"29 February not leap", "2026-02-29T10:00:00Z", "is not a real day", false},
		{"hour 24", "01/07/2026 24:00", "has hour 24; write 00:00 of the next day", false},
		{"hour 25", "2026-03-01T25:00:00Z", "time of day that does not exist", false},
		{"minute 60", "01/07/2026 09:60", "time of day that does not exist", false},
		{"leap second", "2026-03-01T23:59:60Z", "time of day that does not exist", false},
		{"month first", "07/13/2026 09:30", "month 13; dates are day first", false},
		{"month 0", "01/00/2026 09:30", "month 0, which does not exist", false},
		{"two-digit year", "01/07/26 09:30", "two-digit year", false},
		{"no offset", "2026-03-01T09:30:00", "no UTC offset", false},
		{"bad offset", "2026-03-01T09:30:00+0100", "unreadable UTC offset", false},
		{"offset hour 24", "2026-03-01T09:30:00+24:00", "impossible UTC offset", false},
		{"12-hour clock", "01/07/2026 9:30 PM", "12-hour clock", false},
		{"uk with zone", "01/07/2026 09:30Z", "unexpected text after the time", false},
		{"uk dashes", "01-07-2026 09:30", "is not a date", false},
		{"missing minutes", "01/07/2026 09", "unreadable time of day", false},
		{"single-digit minutes", "01/07/2026 09:5", "unreadable time of day", false},
		{"empty fraction", "2026-03-01T09:30:00.Z", "no fraction", false},
		{"year 0", "0000-01-01T00:00:00Z", "year 0000", false},
		{"after 9999 in UTC", "9999-12-31T23:30:00-01:00", "outside the years 0001–9999", false},
		{"excel serial", "45352.395833", "is not a date", false},
		{"long junk is clipped", strings.Repeat("x", 200), `…`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTime(tt.in)
			if err == nil {
				t.Fatalf("ParseTime(%q) = %v, want an error", tt.in, got)
			}
			checkValueError(t, err, "timestamp", tt.want, tt.empty)
		})
	}
}

func TestParseExcelTime(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want time.Time
	}{
		{"winter morning", "45352.395833", utc(2024, 3, 1, 9, 30, 0, 0)},
		{"full double precision", "45352.395833333336", utc(2024, 3, 1, 9, 30, 0, 0)},
		{"date only", "45352", utc(2024, 3, 1, 0, 0, 0, 0)},
		{"summer noon", "45474.5", utc(2024, 7, 1, 11, 0, 0, 0)},
		{"summer midnight", "45474", utc(2024, 6, 30, 23, 0, 0, 0)},
		{"rounds up to midnight", "45352.999999999", utc(2024, 3, 2, 0, 0, 0, 0)},
		{"autumn repeated hour", "46320.0625", utc(2026, 10, 25, 0, 30, 0, 0)},
		{"exponent form", "4.5352E4", utc(2024, 3, 1, 0, 0, 0, 0)},
		{"surrounding space", " 45352.5 ", utc(2024, 3, 1, 12, 0, 0, 0)},
		{"serial 1", "1", utc(1900, 1, 1, 0, 0, 0, 0)},
		{"serial 59", "59", utc(1900, 2, 28, 0, 0, 0, 0)},
		{"serial 61 after the fake leap day", "61", utc(1900, 3, 1, 0, 0, 0, 0)},
		{"serial 59 rounding into March", "59.9999999", utc(1900, 3, 1, 0, 0, 0, 0)},
		{"last day", "2958465", utc(9999, 12, 31, 0, 0, 0, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseExcelTime(tt.in)
			if err != nil {
				t.Fatalf("ParseExcelTime(%q): %v", tt.in, err)
			}
			if !got.Equal(tt.want) || got.Location() != time.UTC {
				t.Errorf("ParseExcelTime(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}

	errTests := []struct {
		name  string
		in    string
		want  string
		empty bool
	}{
		{"empty", " ", "empty", true},
		{"text", "01/03/2026", "not an Excel date serial number", false},
		{"negative", "-1", "not an Excel date serial number", false},
		{"time only", "0.5", "time of day with no date", false},
		{"fake leap day", "60.25", "29 February 1900", false},
		{"too large", "2958466", "after 9999-12-31", false},
		{"rounds past the last day", "2958465.9999999999", "after 9999-12-31", false},
		{"overflow", "1e400", "not an Excel date serial number", false},
		{"NaN", "NaN", "not an Excel date serial number", false},
		{"hex", "0x1p4", "not an Excel date serial number", false},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseExcelTime(tt.in)
			if err == nil {
				t.Fatalf("ParseExcelTime(%q) = %v, want an error", tt.in, got)
			}
			checkValueError(t, err, "timestamp", tt.want, tt.empty)
		})
	}
}

func TestParseDate(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Date
	}{
		{"iso", "2026-03-01", Date{2026, time.March, 1}},
		{"uk", "01/03/2026", Date{2026, time.March, 1}},
		{"uk single digits", "1/3/2026", Date{2026, time.March, 1}},
		{"uk mixed digits", "15/3/2026", Date{2026, time.March, 15}},
		{"surrounding space", " 01/03/2026\t", Date{2026, time.March, 1}},
		{"leap day", "29/02/2024", Date{2024, time.February, 29}},
		{"leap day 2000", "2000-02-29", Date{2000, time.February, 29}},
		{"end of year", "31/12/2026", Date{2026, time.December, 31}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDate(tt.in)
			if err != nil {
				t.Fatalf("ParseDate(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseDate(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}

	errTests := []struct {
		name  string
		in    string
		want  string
		empty bool
	}{
		{"empty", "", "empty", true},
		{"31 February", "31/02/2026", `date: "31/02/2026" is not a real day (February 2026 has 28 days)`, false},
		{"29 February 1900", "1900-02-29", "is not a real day", false},
		{"31 April", "2026-04-31", "April 2026 has 30 days", false},
		{"day 0", "00/03/2026", "is not a real day", false},
		{"month first", "03/31/2026", "month 31; dates are day first", false},
		{"month 13", "2026-13-01", "month 13, which does not exist", false},
		{"uk midnight", "01/03/2026 00:00", "is a timestamp at midnight, not a date", false},
		{"uk midnight with seconds", "01/03/2026 00:00:00", "timestamp at midnight", false},
		{"iso midnight", "2026-03-01T00:00:00Z", "timestamp at midnight", false},
		{"iso midnight no offset", "2026-03-01T00:00:00", "timestamp at midnight", false},
		{"iso midnight fraction", "2026-03-01T00:00:00.000+01:00", "timestamp at midnight", false},
		{"time of day", "01/03/2026 10:15", "has a time of day", false},
		{"iso time of day", "2026-03-01T10:15:00Z", "has a time of day", false},
		{"hour 24", "01/03/2026 24:00", "has a time of day", false},
		{"trailing text", "01/03/2026 approx", "unexpected text after the date", false},
		{"two-digit year", "01/03/26", "two-digit year", false},
		{"words", "1st March 2026", "is not a date", false},
		{"iso single digits", "2026-3-1", "is not a date", false},
		{"year 0", "0000-01-01", "year 0000", false},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDate(tt.in)
			if err == nil {
				t.Fatalf("ParseDate(%q) = %v, want an error", tt.in, got)
			}
			checkValueError(t, err, "date", tt.want, tt.empty)
		})
	}
}

func TestDateString(t *testing.T) {
	tests := []struct {
		name string
		in   Date
		want string
	}{
		{"ordinary", Date{2026, time.March, 1}, "2026-03-01"},
		{"early year padded", Date{987, time.December, 31}, "0987-12-31"},
		{"zero", Date{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			if got, want := tt.in.IsZero(), tt.in == (Date{}); got != want {
				t.Errorf("IsZero() = %v, want %v", got, want)
			}
		})
	}
}

func TestDateJSON(t *testing.T) {
	type row struct {
		Completion Date  `json:"completion"`
		Exchange   *Date `json:"exchange"`
	}
	tests := []struct {
		name string
		in   row
		want string
	}{
		{"date", row{Completion: Date{2026, time.March, 1}}, `{"completion":"2026-03-01","exchange":null}`},
		{"zero is null", row{Exchange: &Date{2026, time.December, 24}}, `{"completion":null,"exchange":"2026-12-24"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(b); got != tt.want {
				t.Errorf("Marshal = %s, want %s", got, tt.want)
			}
			var back row
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("Unmarshal(%s): %v", b, err)
			}
			if !reflect.DeepEqual(back, tt.in) {
				t.Errorf("round trip = %+v, want %+v", back, tt.in)
			}
		})
	}

	for _, in := range []string{`"01/03/2026"`, `"2026-02-30"`, `"2026-03-01T00:00:00Z"`, `20260301`, `""`} {
		t.Run("reject "+in, func(t *testing.T) {
			var d Date
			if err := json.Unmarshal([]byte(in), &d); err == nil {
				t.Errorf("Unmarshal(%s) = %v, want an error", in, d)
			}
		})
	}
}

func TestParseMoney(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Money
	}{
		{"one decimal", "1234.5", 123450},
		{"thousands", "1,234.50", 123450},
		{"pound sign", "£1,234.50", 123450},
		{"pound sign and space", "£ 1,234.50", 123450},
		{"GBP code", "GBP 1,234.50", 123450},
		{"gbp code lower-case, no space", "gbp1234", 123400},
		{"minus before pound", "-£5", -500},
		{"minus after pound", "£-5", -500},
		{"minus and space", "- 5.25", -525},
		{"accounting negative", "(1,234.50)", -123450},
		{"accounting negative with pound", "(£1,234.50)", -123450},
		{"accounting negative inner space", "( 12.00 )", -1200},
		{"surrounding space", " 1234 ", 123400},
		{"zero", "0", 0},
		{"negative zero", "-0.00", 0},
		{"pence", "0.05", 5},
		{"millions", "1,234,567.89", 123456789},
		{"short first group", "12,345", 1234500},
		{"no separators, big", "350000", 35000000},
		{"largest", "92233720368547758.07", math.MaxInt64},
		{"smallest", "-92233720368547758.08", math.MinInt64},
		{"smallest accounting", "(92,233,720,368,547,758.08)", math.MinInt64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMoney(tt.in)
			if err != nil {
				t.Fatalf("ParseMoney(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseMoney(%q) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}

	errTests := []struct {
		name  string
		in    string
		want  string
		empty bool
	}{
		{"empty", " ", "empty", true},
		{"bad groups", "1,23,4", `money: "1,23,4" has thousands separators that do not mark groups of three digits`, false},
		{"long first group", "1234,567", "groups of three", false},
		{"long last group", "1,2345", "groups of three", false},
		{"short last group", "1,23", "groups of three", false},
		{"leading comma", ",123", "starts with a thousands separator", false},
		{"double comma", "1,,234", "groups of three", false},
		{"trailing comma", "1,234,", "groups of three", false},
		{"three decimals", "1.234", "more than two decimals", false},
		{"three zero decimals", "1.000", "more than two decimals", false},
		{"trailing point", "1234.", "decimal point with no pence", false},
		{"leading point", ".5", "no digits before the decimal point", false},
		{"two points", "1.2.3", "separator out of place", false},
		{"comma after point", "1.23,4", "separator out of place", false},
		{"european", "1.234,50", "'.' between thousands", false},
		{"words", "about a thousand", "not an amount in pounds", false},
		{"euro", "€5", "not an amount in pounds", false},
		{"dollar", "$5", "not an amount in pounds", false},
		{"other currency code", "USD 5", "not an amount in pounds", false},
		{"plus", "+5", "plus sign", false},
		{"two minus signs", "--5", "negative twice", false},
		{"minus before and after pound", "-£-5", "negative twice", false},
		{"brackets and minus", "(-5)", "negative twice", false},
		{"unclosed bracket", "(5", "no closing one", false},
		{"unopened bracket", "5)", "no opening one", false},
		{"empty brackets", "()", "no digits", false},
		{"pound alone", "£", "no digits", false},
		{"code alone", "GBP", "no digits", false},
		{"space in number", "1 234", "unexpected text after the amount", false},
		{"currency after", "5 GBP", "unexpected text after the amount", false},
		{"mojibake", "Â£5", "text encoding was misread", false},
		{"overflow by a penny", "92233720368547758.08", "too large", false},
		{"overflow negative", "-92233720368547758.09", "too large", false},
		{"overflow many digits", "99999999999999999999999", "too large", false},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMoney(tt.in)
			if err == nil {
				t.Fatalf("ParseMoney(%q) = %d, want an error", tt.in, got)
			}
			checkValueError(t, err, "money", tt.want, tt.empty)
		})
	}
}

func TestMoneyString(t *testing.T) {
	tests := []struct {
		name string
		in   Money
		want string
	}{
		{"zero", 0, "0.00"},
		{"pence", 5, "0.05"},
		{"negative pence", -5, "-0.05"},
		{"pounds and pence", 123450, "1234.50"},
		{"negative pounds", -500, "-5.00"},
		{"largest", math.MaxInt64, "92233720368547758.07"},
		{"smallest", math.MinInt64, "-92233720368547758.08"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.String(); got != tt.want {
				t.Errorf("Money(%d).String() = %q, want %q", int64(tt.in), got, tt.want)
			}
		})
	}
}

func TestParseBool(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"true", true}, {"TRUE", true}, {"True", true}, {"yes", true}, {"Yes", true},
		{"y", true}, {"Y", true}, {"1", true}, {"t", true}, {"T", true}, {" yes\t", true},
		{"false", false}, {"FALSE", false}, {"no", false}, {"NO", false}, {"n", false},
		{"N", false}, {"0", false}, {"f", false}, {"F", false}, {" No ", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseBool(tt.in)
			if err != nil {
				t.Fatalf("ParseBool(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseBool(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}

	errTests := []struct {
		name  string
		in    string
		want  string
		empty bool
	}{
		{"empty", "", "empty", true},
		{"maybe", "maybe", `bool: "maybe" is not a yes/no value; use true/false`, false},
		{"two", "2", "not a yes/no value", false},
		{"yes please", "yes please", "not a yes/no value", false},
		{"on", "on", "not a yes/no value", false},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseBool(tt.in)
			checkValueError(t, err, "bool", tt.want, tt.empty)
		})
	}
}

func TestSplitList(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"empty", "", nil},
		{"only separators and space", " ; ;; ", nil},
		{"one", "Halifax", []string{"Halifax"}},
		{"several trimmed", " a; b ;;c ", []string{"a", "b", "c"}},
		{"commas kept", "Smith, J; Jones, K", []string{"Smith, J", "Jones, K"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SplitList(tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("SplitList(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNormalizeEmail(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"lower-cased", "John.Smith@Example.COM", "john.smith@example.com"},
		{"trimmed", "  jane@example.com\t", "jane@example.com"},
		{"empty", "  ", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NormalizeEmail(tt.in); got != tt.want {
				t.Errorf("NormalizeEmail(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestValidEmail(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"plain", "john.smith@example.com", true},
		{"plus tag and subdomain", "a+tag@mail.example.co.uk", true},
		{"apostrophe", "o'brien@example.ie", true},
		{"hyphenated domain", "info@smith-jones.law", true},
		{"unicode domain", "jose@café.fr", true},
		{"upper case still valid", "John@Example.com", true},
		{"empty", "", false},
		{"no at", "john.example.com", false},
		{"no local part", "@example.com", false},
		{"no domain", "john@", false},
		{"domain without dot", "john@localhost", false},
		{"two ats", "john@@example.com", false},
		{"two addresses", "john@example.com; jane@example.com", false},
		{"two addresses comma", "john@example.com,jane@example.com", false},
		{"space in local part", "jo hn@example.com", false},
		{"space in domain", "john@exa mple.com", false},
		{"consecutive dots local", "john..smith@example.com", false},
		{"consecutive dots domain", "john@example..com", false},
		{"leading dot", ".john@example.com", false},
		{"trailing dot local", "john.@example.com", false},
		{"trailing dot domain", "john@example.com.", false},
		{"hyphen at label start", "john@-example.com", false},
		{"underscore in domain", "john@example_firm.com", false},
		{"numeric top-level", "john@192.168.0.1", false},
		{"display name", "John <john@example.com>", false},
		{"control character", "jo\x01hn@example.com", false},
		{"invalid utf-8", "jo\xffhn@example.com", false},
		{"local part too long", strings.Repeat("a", 65) + "@example.com", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ValidEmail(tt.in); got != tt.want {
				t.Errorf("ValidEmail(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestNormalizePhone(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		want   string
		wantOK bool
	}{
		{"uk mobile", "07700 900123", "+447700900123", true},
		{"uk mobile no spaces", "07700900123", "+447700900123", true},
		{"uk international with trunk zero", "+44 (0)20 7946 0018", "+442079460018", true},
		{"uk international", "+44 7700 900123", "+447700900123", true},
		{"uk international stray zero", "+44 07700 900123", "+447700900123", true},
		{"uk e164 already", "+447700900123", "+447700900123", true},
		{"uk 0044", "0044 20 7946 0018", "+442079460018", true},
		{"uk 0044 with trunk zero", "0044 (0)20 7946 0018", "+442079460018", true},
		{"uk dashes", "020-7946-0018", "+442079460018", true},
		{"uk dots", "020.7946.0018", "+442079460018", true},
		{"uk brackets", "(020) 7946 0018", "+442079460018", true},
		{"uk geographic", "0113 496 0000", "+441134960000", true},
		{"uk 03", "0300 123 4567", "+443001234567", true},
		{"uk 0800 nine digits", "0800 123 456", "+44800123456", true},
		{"uk 0800 ten digits", "0800 123 4567", "+448001234567", true},
		{"uk 016977 nine digits", "016977 3456", "+44169773456", true},
		{"surrounding space", "  07700 900123 ", "+447700900123", true},
		{"us", "+1 (212) 555-1234", "+12125551234", true},
		{"france with trunk zero", "+33 (0)1 23 45 67 89", "+33123456789", true},
		{"france 0033", "0033 1 23 45 67 89", "+33123456789", true},
		{"ireland", "+353 1 234 5678", "+35312345678", true},
		{"eight digits", "+682 12345", "+68212345", true},
		{"fifteen digits", "+123456789012345", "+123456789012345", true},
		{"empty", "", "", false},
		{"too short", "12345", "", false},
		{"uk nine digits", "07700 90012", "", false},
		{"uk eleven digits", "07700 9001234", "", false},
		{"uk 04", "04700 900123", "", false},
		{"uk 06", "06700 900123", "", false},
		{"uk international short", "+44 7700 90012", "", false},
		{"no prefix", "7700 900123", "", false},
		{"extension", "07700 900123 ext 12", "", false},
		{"x extension", "07700 900123x12", "", false},
		{"tel uri", "tel:07700900123", "", false},
		{"two numbers", "07700 900123 / 07700 900124", "", false},
		{"two pluses", "++447700900123", "", false},
		{"plus inside", "07700+900123", "", false},
		{"country code 0", "+0 123 456 789", "", false},
		{"seven digits", "+1234567", "", false},
		{"sixteen digits", "+1234567890123456", "", false},
		{"letters", "call reception", "", false},
		{"only zeros", "00", "", false},
		{"unicode digits", "０７７００ ９００１２３", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := NormalizePhone(tt.in)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("NormalizePhone(%q) = %q, %v, want %q, %v", tt.in, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func BenchmarkParseTime(b *testing.B) {
	for _, bm := range []struct{ name, in string }{
		{"rfc3339", "2026-03-01T09:30:00Z"},
		{"rfc3339 offset fraction", "2026-07-01T09:30:00.123+01:00"},
		{"uk local", "01/07/2026 09:30"},
		{"uk local seconds", "15/01/2026 09:30:45"},
		{"date", "2026-07-01"},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseTime(bm.in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParseMoney(b *testing.B) {
	for _, bm := range []struct{ name, in string }{
		{"plain", "1234.5"},
		{"pound thousands", "£1,234,567.89"},
		{"accounting", "(1,234.50)"},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseMoney(bm.in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestParseTimeLondonHistory checks the reading of London wall-clock time
// around every change of offset from 1840 to 2100 (railway time, double
// summer time, the 1968–71 experiment, today's rules): a wall time read back
// is the instant that showed it, the first one when the clock showed it
// twice, and a time the clock skipped is read with the offset before the
// change.
func TestParseTimeLondonHistory(t *testing.T) {
	const layout = "02/01/2006 15:04:05"
	offset := func(u time.Time) int { _, off := u.In(London).Zone(); return off }
	check := func(u time.Time) {
		t.Helper()
		wall := u.In(London).Format(layout)
		got, err := ParseTime(wall)
		if err != nil {
			t.Fatalf("ParseTime(%q): %v", wall, err)
		}
		if got.Equal(u) {
			return
		}
		// Allowed only for the second showing of a repeated wall time.
		if !got.Before(u) || got.In(London).Format(layout) != wall {
			t.Fatalf("ParseTime(%q) = %v, want %v", wall, got, u.UTC())
		}
	}
	changes := 0
	end := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
	for u := time.Date(1840, 1, 1, 0, 0, 0, 0, time.UTC); u.Before(end); u = u.Add(time.Hour) {
		if u.Hour()%7 == 0 {
			check(u)
		}
		before, after := offset(u), offset(u.Add(time.Hour))
		if before == after {
			continue
		}
		// The change is within (u, u+1h]: find it to the second.
		lo, hi := u.Unix(), u.Add(time.Hour).Unix()
		for hi-lo > 1 {
			mid := (lo + hi) / 2
			if offset(time.Unix(mid, 0)) == before {
				lo = mid
			} else {
				hi = mid
			}
		}
		change := time.Unix(hi, 0).UTC()
		changes++
		for d := -4 * time.Hour; d <= 4*time.Hour; d += 5 * time.Minute {
			check(change.Add(d))
		}
		check(change.Add(-time.Second))
		if after > before {
			// Wall times from change+before to change+after never showed.
			for d := time.Duration(0); d < time.Duration(after-before)*time.Second; d += 10 * time.Minute {
				wallUTC := change.Add(time.Duration(before)*time.Second + d) // wall clock digits, as if UTC
				wall := wallUTC.Format(layout)
				got, err := ParseTime(wall)
				if err != nil {
					t.Fatalf("ParseTime(%q): %v", wall, err)
				}
				if want := wallUTC.Add(-time.Duration(before) * time.Second); !got.Equal(want) {
					t.Fatalf("ParseTime(%q) in a gap = %v, want %v (the offset before the change)", wall, got, want)
				}
			}
		}
	}
	if changes < 300 {
		t.Errorf("found %d changes of offset in London since 1840, want over 300", changes)
	}
}
