package perfectportal

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
	// Lambda's provided.al2023 runtime has no zoneinfo; embed the database so
	// Europe/London always loads.
	_ "time/tzdata"
	"unicode"
	"unicode/utf8"
)

// London is the Europe/London time zone, in which the export's UK local
// timestamps and dates are read.
var London = loadLondon()

func loadLondon() *time.Location {
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		// time/tzdata is linked in, so only a broken build gets here.
		panic("perfectportal: load Europe/London: " + err.Error())
	}
	return loc
}

// ErrEmpty is the error a parse function's *ValueError wraps when the value
// is empty or only space; errors.Is(err, ErrEmpty) tells a missing value
// from a malformed one.
var ErrEmpty = errors.New("empty value")

// Value kinds named by ValueError.Kind.
const (
	kindTimestamp = "timestamp"
	kindDate      = "date"
	kindMoney     = "money"
	kindBool      = "bool"
	kindEncoding  = "encoding"
)

// ValueError reports a cell value that cannot be read. Kind names what was
// expected ("timestamp", "date", "money", "bool", "encoding"); Reason says
// what is wrong and what to write instead. Reason quotes the offending value
// for these kinds only: email addresses and phone numbers, which are personal
// data, are never put in an error.
type ValueError struct {
	Kind   string
	Reason string
	err    error
}

// Error returns "kind: reason".
func (e *ValueError) Error() string { return e.Kind + ": " + e.Reason }

// Unwrap returns ErrEmpty when the value was empty, and nil otherwise.
func (e *ValueError) Unwrap() error { return e.err }

const (
	timestampHint = "use DD/MM/YYYY HH:MM (UK time) or RFC 3339 such as 2026-03-01T09:30:00Z"
	dateHint      = "use DD/MM/YYYY or YYYY-MM-DD"
	moneyHint     = "use an amount such as 1234.50, 1,234.50 or £1,234.50"
	boolHint      = "use true/false, yes/no, y/n, 1/0 or t/f"
)

func emptyValueError(kind, hint string) *ValueError {
	return &ValueError{Kind: kind, Reason: "the value is empty; " + hint, err: ErrEmpty}
}

// badValue builds the error for a value of kind: its quoted value, then
// problem (what is wrong and what to write instead).
func badValue(kind, value, problem string) *ValueError {
	return &ValueError{Kind: kind, Reason: quoteClipped(value) + " " + problem}
}

// quoteClipped quotes v for an error message, cut to a readable length: a
// junk cell can hold a whole paragraph.
func quoteClipped(v string) string {
	const max = 64
	if len(v) <= max {
		return strconv.Quote(v)
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(v[cut]) {
		cut--
	}
	return strconv.Quote(v[:cut]) + "…"
}

// ---------------------------------------------------------------------------
// Timestamps and dates

// ParseTime reads a timestamp and returns it in UTC. It accepts
//   - RFC 3339 with any offset, with or without fractional seconds
//     (2026-03-01T09:30:00Z, 2026-07-01T09:30:00.25+01:00; 't' or a space
//     may stand for 'T', 'z' for 'Z', and the seconds may be left out);
//   - UK local time DD/MM/YYYY HH:MM or DD/MM/YYYY HH:MM:SS, day, month and
//     hour also as one digit (1/3/2026 9:05), seconds perhaps with a
//     fraction;
//   - a date alone, YYYY-MM-DD or DD/MM/YYYY, meaning 00:00 that day.
//
// Local times are read in Europe/London with daylight saving. In the autumn
// hour that occurs twice (01:00–01:59 on the last Sunday of October), the
// first instant (BST) is taken. A time in the spring gap that never occurs
// on the clock (01:00–01:59 on the last Sunday of March) is read with the
// offset in force before the gap, GMT, so 01:30 becomes 01:30Z: a clock
// not yet put forward is the likeliest writer of such a time.
//
// Space around the value is ignored. An ISO date-time without an offset is
// rejected rather than guessed. Years must be 0001–9999, also after the
// conversion to UTC. On error it returns a *ValueError of kind "timestamp",
// wrapping ErrEmpty when the value is empty.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, emptyValueError(kindTimestamp, timestampHint)
	}
	dt, problem := scanDateTime(s)
	if problem != "" {
		return time.Time{}, badValue(kindTimestamp, s, problem+"; "+timestampHint)
	}
	var t time.Time
	if dt.hasOffset {
		t = time.Date(dt.year, time.Month(dt.month), dt.day, dt.hour, dt.min, dt.sec, dt.nsec, time.UTC).
			Add(-time.Duration(dt.offset) * time.Second)
	} else {
		t = londonInstant(dt.year, time.Month(dt.month), dt.day, dt.hour, dt.min, dt.sec).
			Add(time.Duration(dt.nsec))
	}
	if y := t.Year(); y < 1 || y > 9999 {
		return time.Time{}, badValue(kindTimestamp, s, "is outside the years 0001–9999 in UTC; "+timestampHint)
	}
	return t, nil
}

// dateTime holds the fields of a scanned timestamp.
type dateTime struct {
	year, month, day   int
	hour, min, sec     int
	nsec               int
	offset             int // seconds east of UTC, when hasOffset
	hasOffset, hasTime bool
}

// scanDateTime reads the timestamp forms ParseTime accepts; on failure it
// returns the problem, worded to follow the quoted value.
func scanDateTime(s string) (dt dateTime, problem string) {
	n, iso, problem := scanDate(s, &dt)
	if problem != "" {
		return dt, problem
	}
	rest := s[n:]
	if rest == "" {
		return dt, ""
	}
	dt.hasTime = true
	if iso {
		if c := rest[0]; c != 'T' && c != 't' && c != ' ' {
			return dt, "is not a timestamp"
		}
		rest = rest[1:]
	} else {
		if rest[0] != ' ' {
			return dt, "is not a timestamp"
		}
		for rest != "" && rest[0] == ' ' {
			rest = rest[1:]
		}
	}
	n, problem = scanClock(rest, &dt)
	if problem != "" {
		return dt, problem
	}
	rest = rest[n:]
	if !iso {
		if rest != "" {
			if looksLikeAMPM(rest) {
				return dt, "uses a 12-hour clock; write the time on the 24-hour clock"
			}
			return dt, "has unexpected text after the time"
		}
		return dt, ""
	}
	switch {
	case rest == "":
		return dt, "has no UTC offset; add Z (UTC) or an offset such as +01:00, or write UK time as DD/MM/YYYY HH:MM"
	case rest == "Z" || rest == "z":
		dt.hasOffset = true
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, ok1 := fixedDigits(rest, 1, 2)
		om, ok2 := fixedDigits(rest, 4, 2)
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return dt, "has an impossible UTC offset"
		}
		dt.offset = oh*3600 + om*60
		if rest[0] == '-' {
			dt.offset = -dt.offset
		}
		dt.hasOffset = true
	default:
		return dt, "has an unreadable UTC offset (expected Z or ±HH:MM)"
	}
	return dt, ""
}

func looksLikeAMPM(s string) bool {
	s = strings.TrimSpace(s)
	return strings.EqualFold(s, "am") || strings.EqualFold(s, "pm") ||
		strings.EqualFold(s, "a.m.") || strings.EqualFold(s, "p.m.")
}

// scanDate reads YYYY-MM-DD (iso) or D/M/YYYY at the start of s into dt and
// returns the bytes read. It checks that the day exists.
func scanDate(s string, dt *dateTime) (n int, iso bool, problem string) {
	if len(s) >= 10 && s[4] == '-' && s[7] == '-' {
		y, ok1 := fixedDigits(s, 0, 4)
		m, ok2 := fixedDigits(s, 5, 2)
		d, ok3 := fixedDigits(s, 8, 2)
		if !ok1 || !ok2 || !ok3 {
			return 0, true, "is not a date"
		}
		dt.year, dt.month, dt.day = y, m, d
		return 10, true, checkDay(y, m, d, true)
	}
	i := 0
	d, i, ok := scanShortNumber(s, i)
	if !ok || i >= len(s) || s[i] != '/' {
		return 0, false, "is not a date"
	}
	m, i, ok := scanShortNumber(s, i+1)
	if !ok || i >= len(s) || s[i] != '/' {
		return 0, false, "is not a date"
	}
	i++
	start := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	switch i - start {
	case 4:
	case 2:
		return 0, false, "has a two-digit year; write the year in full (DD/MM/YYYY)"
	default:
		return 0, false, "is not a date"
	}
	y, _ := fixedDigits(s, start, 4)
	dt.year, dt.month, dt.day = y, m, d
	return i, false, checkDay(y, m, d, false)
}

// checkDay reports what is wrong with year y, month m, day d, or "".
func checkDay(y, m, d int, iso bool) string {
	switch {
	case y == 0:
		return "has year 0000, which is not a year"
	case m < 1 || m > 12:
		if !iso && m > 12 && d <= 12 {
			return "has month " + strconv.Itoa(m) + "; dates are day first (DD/MM/YYYY), not month first"
		}
		return "has month " + strconv.Itoa(m) + ", which does not exist"
	case d < 1 || d > daysIn(y, time.Month(m)):
		return "is not a real day (" + time.Month(m).String() + " " + strconv.Itoa(y) +
			" has " + strconv.Itoa(daysIn(y, time.Month(m))) + " days)"
	}
	return ""
}

func daysIn(y int, m time.Month) int {
	switch m {
	case time.February:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

// scanClock reads H:MM, HH:MM or either with :SS and an optional fraction
// of a second at the start of s into dt, and returns the bytes read.
func scanClock(s string, dt *dateTime) (n int, problem string) {
	h, i, ok := scanShortNumber(s, 0)
	if !ok || i >= len(s) || s[i] != ':' {
		return 0, "has an unreadable time of day"
	}
	mi, ok := fixedDigits(s, i+1, 2)
	if !ok {
		return 0, "has an unreadable time of day"
	}
	i += 3
	sec := 0
	if i < len(s) && s[i] == ':' {
		if sec, ok = fixedDigits(s, i+1, 2); !ok {
			return 0, "has an unreadable time of day"
		}
		i += 3
		if i < len(s) && (s[i] == '.' || s[i] == ',') {
			i++
			start := i
			nsec, scale := 0, 100000000
			for i < len(s) && isDigit(s[i]) {
				nsec += int(s[i]-'0') * scale
				scale /= 10
				i++
			}
			if i == start {
				return 0, "has a decimal point with no fraction of a second"
			}
			dt.nsec = nsec
		}
	}
	switch {
	case h == 24:
		return 0, "has hour 24; write 00:00 of the next day"
	case h > 23 || mi > 59 || sec > 59:
		return 0, "has a time of day that does not exist"
	}
	dt.hour, dt.min, dt.sec = h, mi, sec
	return i, ""
}

// scanShortNumber reads one or two digits at s[i:].
func scanShortNumber(s string, i int) (v, next int, ok bool) {
	if i >= len(s) || !isDigit(s[i]) {
		return 0, i, false
	}
	v = int(s[i] - '0')
	i++
	if i < len(s) && isDigit(s[i]) {
		v = v*10 + int(s[i]-'0')
		i++
	}
	return v, i, true
}

// fixedDigits reads exactly n digits at s[i:].
func fixedDigits(s string, i, n int) (int, bool) {
	if i < 0 || i+n > len(s) {
		return 0, false
	}
	v := 0
	for j := i; j < i+n; j++ {
		if !isDigit(s[j]) {
			return 0, false
		}
		v = v*10 + int(s[j]-'0')
	}
	return v, true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// londonInstant returns the UTC instant of a Europe/London wall-clock time,
// taking the first instant when the clock shows it twice and the offset in
// force before the gap when the clock skips it.
func londonInstant(y int, mo time.Month, d, h, mi, sec int) time.Time {
	wall := time.Date(y, mo, d, h, mi, sec, 0, time.UTC).Unix()
	// London's offset changes at most once within a day either side of any
	// wall time, so the offsets a day before and after are the candidates.
	before := londonOffset(wall - 86400)
	after := londonOffset(wall + 86400)
	if before == after {
		return time.Unix(wall-before, 0).UTC()
	}
	first, second := before, after // the larger offset gives the earlier instant
	if second > first {
		first, second = second, first
	}
	if londonOffset(wall-first) == first {
		return time.Unix(wall-first, 0).UTC()
	}
	if londonOffset(wall-second) == second {
		return time.Unix(wall-second, 0).UTC()
	}
	return time.Unix(wall-before, 0).UTC()
}

func londonOffset(unix int64) int64 {
	_, off := time.Unix(unix, 0).In(London).Zone()
	return int64(off)
}

// Excel's 1900 date system: serial 1 is 1900-01-01, and serial 60 is
// 1900-02-29, a day that never was (kept for Lotus 1-2-3 compatibility).
const (
	excelFakeLeapDay = 60
	excelMaxSerial   = 2958465 // 9999-12-31
)

// ParseExcelTime reads an Excel serial date-time from an xlsx cell, such as
// "45352.395833" (2024-03-01 09:30), in the 1900 date system: the whole part
// counts days (serial 1 is 1900-01-01, and Excel's non-existent 1900-02-29
// is serial 60), the fraction is the time of day, rounded to the nearest
// second. It is read as Europe/London wall-clock time, as ParseTime reads
// local times, and returned in UTC. The 1904 date system (old Mac workbooks)
// is not supported. On error it returns a *ValueError of kind "timestamp",
// wrapping ErrEmpty when the value is empty.
func ParseExcelTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, emptyValueError(kindTimestamp, "expected an Excel date serial number such as 45352.395833")
	}
	const hint = "; expected an Excel date serial number such as 45352.395833"
	if !isDigit(s[0]) {
		return time.Time{}, badValue(kindTimestamp, s, "is not an Excel date serial number"+hint)
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case isDigit(c), c == '.', c == 'e', c == 'E', c == '+', c == '-':
		default:
			return time.Time{}, badValue(kindTimestamp, s, "is not an Excel date serial number"+hint)
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return time.Time{}, badValue(kindTimestamp, s, "is not an Excel date serial number"+hint)
	}
	if v < 1 {
		return time.Time{}, badValue(kindTimestamp, s, "is a time of day with no date"+hint)
	}
	if v >= excelMaxSerial+1 {
		return time.Time{}, badValue(kindTimestamp, s, "is after 9999-12-31"+hint)
	}
	days := math.Floor(v)
	if days == excelFakeLeapDay {
		return time.Time{}, badValue(kindTimestamp, s, "is 29 February 1900, which Excel shows but never existed"+hint)
	}
	secs := int(math.Round((v - days) * 86400))
	base := 30 // day 0 is 1899-12-30 from 1900-03-01 on ...
	if days < excelFakeLeapDay {
		base = 31 // ... and 1899-12-31 before the fake leap day
	}
	wall := time.Date(1899, time.December, base+int(days), 0, 0, secs, 0, time.UTC)
	if wall.Year() > 9999 {
		return time.Time{}, badValue(kindTimestamp, s, "is after 9999-12-31"+hint)
	}
	return londonInstant(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second()), nil
}

// Date is a calendar date without a time zone. The zero Date means "no
// date".
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// String returns the date as YYYY-MM-DD, or "" for the zero Date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return string(d.appendISO(make([]byte, 0, 10)))
}

func (d Date) appendISO(b []byte) []byte {
	b = appendPadded(b, d.Year, 4)
	b = append(b, '-')
	b = appendPadded(b, int(d.Month), 2)
	b = append(b, '-')
	return appendPadded(b, d.Day, 2)
}

func appendPadded(b []byte, v, width int) []byte {
	for w, p := width, 1; w > 1; w-- {
		p *= 10
		if v < p {
			b = append(b, '0')
		}
	}
	return strconv.AppendInt(b, int64(v), 10)
}

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

// MarshalJSON writes d as a "YYYY-MM-DD" string, or null for the zero Date.
func (d Date) MarshalJSON() ([]byte, error) {
	if d.IsZero() {
		return []byte("null"), nil
	}
	b := append(make([]byte, 0, 12), '"')
	b = d.appendISO(b)
	return append(b, '"'), nil
}

// UnmarshalJSON reads null (the zero Date) or a "YYYY-MM-DD" string. Any
// other JSON value or spelling is an error (a *ValueError of kind "date" for
// a string that is not a real YYYY-MM-DD day).
func (d *Date) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*d = Date{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New("date: expected a \"YYYY-MM-DD\" string or null")
	}
	var dt dateTime
	n, iso, problem := scanDate(s, &dt)
	if problem == "" && (!iso || n != len(s)) {
		problem = "is not a date in the form YYYY-MM-DD"
	}
	if problem != "" {
		return badValue(kindDate, s, problem)
	}
	*d = Date{Year: dt.year, Month: time.Month(dt.month), Day: dt.day}
	return nil
}

// ParseDate reads a date: YYYY-MM-DD, or DD/MM/YYYY with the day and month
// also as one digit (1/3/2026). Space around the value is ignored. A
// timestamp is not a date: a value with a time of day is rejected, and one
// at midnight (01/03/2026 00:00, 2026-03-01T00:00:00Z, the way spreadsheets
// write date cells formatted as date-time) is told so. On error it returns a
// *ValueError of kind "date", saying for example that 31/02/2026 is not a
// real day; it wraps ErrEmpty when the value is empty.
func ParseDate(s string) (Date, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Date{}, emptyValueError(kindDate, dateHint)
	}
	var dt dateTime
	n, _, problem := scanDate(s, &dt)
	if problem != "" {
		return Date{}, badValue(kindDate, s, problem+"; "+dateHint)
	}
	if n != len(s) {
		return Date{}, badValue(kindDate, s, dateTrailerProblem(s[n:])+"; "+dateHint)
	}
	return Date{Year: dt.year, Month: time.Month(dt.month), Day: dt.day}, nil
}

// dateTrailerProblem says what is wrong with the text after a date.
func dateTrailerProblem(rest string) string {
	if c := rest[0]; c == ' ' || c == 'T' || c == 't' {
		var clock dateTime
		_, p := scanClock(strings.TrimLeft(rest[1:], " "), &clock)
		if p == "" && clock.hour == 0 && clock.min == 0 && clock.sec == 0 && clock.nsec == 0 {
			return "is a timestamp at midnight, not a date (a spreadsheet column formatted as date and time?); give the date alone"
		}
		if p == "" || strings.IndexByte(rest, ':') >= 0 {
			return "has a time of day, but this column holds a date alone"
		}
	}
	return "has unexpected text after the date"
}

// ---------------------------------------------------------------------------
// Money

// Money is an amount of money in minor units (pence).
type Money int64

// String returns the amount in pounds with two decimals and no currency
// symbol or thousands separators: "1234.50", "-5.00".
func (m Money) String() string {
	var buf [24]byte
	b := buf[:0]
	mag := uint64(m)
	if m < 0 {
		b = append(b, '-')
		mag = -mag // two's complement: also right for math.MinInt64
	}
	b = strconv.AppendUint(b, mag/100, 10)
	b = append(b, '.', byte('0'+mag%100/10), byte('0'+mag%10))
	return string(b)
}

// ParseMoney reads an amount in pounds and returns it in pence. It accepts
// "1234.5", "1,234.50", "£1,234.50", "GBP 1,234.50", "-£5", "£-5", the
// accounting negative "(1,234.50)", and space around the value or after the
// currency. Thousands separators must stand between groups of three digits
// ("1,23,4" is rejected), there may be at most two decimals ("1.234" is
// rejected: it may be a European 1234), and only pounds are read. On error
// it returns a *ValueError of kind "money" naming the problem, also when
// the amount does not fit in an int64 of pence; it wraps ErrEmpty when the
// value is empty.
func ParseMoney(s string) (Money, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, emptyValueError(kindMoney, moneyHint)
	}
	v, problem := scanMoney(s)
	if problem != "" {
		return 0, badValue(kindMoney, s, problem)
	}
	return v, nil
}

func scanMoney(s string) (Money, string) {
	neg := false
	body := s
	if body[0] == '(' {
		if body[len(body)-1] != ')' {
			return 0, "has an opening bracket but no closing one; " + moneyHint
		}
		neg = true
		body = strings.TrimSpace(body[1 : len(body)-1])
	} else if body[len(body)-1] == ')' {
		return 0, "has a closing bracket but no opening one; " + moneyHint
	}
	if body != "" && body[0] == '-' {
		if neg {
			return 0, "is negative twice (brackets and a minus sign); " + moneyHint
		}
		neg = true
		body = trimLeadingSpace(body[1:])
	}
	switch {
	case strings.HasPrefix(body, "£"):
		body = trimLeadingSpace(body[len("£"):])
	case len(body) >= 3 && strings.EqualFold(body[:3], "GBP"):
		body = trimLeadingSpace(body[3:])
	case body != "" && body[0] == '+':
		return 0, "has a plus sign; write the amount without it, such as 1234.50"
	case strings.HasPrefix(body, "Â£"):
		return 0, "starts with \"Â£\": the file's text encoding was misread (UTF-8 read as Windows-1252); check the manifest's encoding"
	case body != "" && !isDigit(body[0]) && body[0] != '.' && body[0] != ',' && body[0] != '-':
		return 0, "is not an amount in pounds (a currency other than £/GBP, or not a number); " + moneyHint
	}
	if body != "" && body[0] == '-' {
		if neg {
			return 0, "is negative twice; " + moneyHint
		}
		neg = true
		body = body[1:]
	}
	if body == "" {
		return 0, "has no digits; " + moneyHint
	}

	const limit = uint64(1) << 63 // magnitude of math.MinInt64
	var pounds uint64
	i, digits, group, commas := 0, 0, 0, 0
	for ; i < len(body); i++ {
		c := body[i]
		if isDigit(c) {
			d := uint64(c - '0')
			if pounds > (limit-d)/10 {
				return 0, "is too large an amount"
			}
			pounds = pounds*10 + d
			digits++
			group++
			continue
		}
		if c != ',' {
			break
		}
		if digits == 0 {
			return 0, "starts with a thousands separator; " + moneyHint
		}
		if (commas == 0 && group > 3) || (commas > 0 && group != 3) {
			return 0, "has thousands separators that do not mark groups of three digits; write 1234.50 or 1,234.50"
		}
		commas++
		group = 0
	}
	if digits == 0 && (i == len(body) || body[i] != '.') {
		return 0, "is not a number; " + moneyHint
	}
	if commas > 0 && group != 3 {
		return 0, "has thousands separators that do not mark groups of three digits; write 1234.50 or 1,234.50"
	}
	var pence uint64
	if i < len(body) && body[i] == '.' {
		if digits == 0 {
			return 0, "has no digits before the decimal point; write 0.50 for fifty pence"
		}
		i++
		start := i
		for i < len(body) && isDigit(body[i]) {
			i++
		}
		switch i - start {
		case 0:
			return 0, "has a decimal point with no pence after it; " + moneyHint
		case 1:
			pence = uint64(body[start]-'0') * 10
		case 2:
			pence = uint64(body[start]-'0')*10 + uint64(body[start+1]-'0')
		default:
			if i < len(body) && body[i] == ',' {
				return 0, "uses '.' between thousands and ',' before the pence; write 1234.50 or 1,234.50"
			}
			return 0, "has more than two decimals; amounts are pounds and pence (1234.50)"
		}
	}
	if i < len(body) {
		switch body[i] {
		case ',', '.':
			return 0, "has a separator out of place; " + moneyHint
		}
		return 0, "has unexpected text after the amount; " + moneyHint
	}
	if pounds > (limit-pence)/100 {
		return 0, "is too large an amount"
	}
	total := pounds*100 + pence
	if neg {
		return Money(-total), "" // two's complement: -(1<<63) is math.MinInt64
	}
	if total > math.MaxInt64 {
		return 0, "is too large an amount"
	}
	return Money(total), ""
}

func trimLeadingSpace(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	return s
}

// ---------------------------------------------------------------------------
// Booleans and lists

// ParseBool reads true/false, yes/no, y/n, 1/0 or t/f in any case, with space
// around it ignored. On error it returns a *ValueError of kind "bool",
// wrapping ErrEmpty when the value is empty.
func ParseBool(s string) (bool, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return false, emptyValueError(kindBool, boolHint)
	case s == "1", strings.EqualFold(s, "true"), strings.EqualFold(s, "yes"),
		strings.EqualFold(s, "y"), strings.EqualFold(s, "t"):
		return true, nil
	case s == "0", strings.EqualFold(s, "false"), strings.EqualFold(s, "no"),
		strings.EqualFold(s, "n"), strings.EqualFold(s, "f"):
		return false, nil
	}
	return false, badValue(kindBool, s, "is not a yes/no value; "+boolHint)
}

// SplitList splits a cell holding a ';'-separated list, trimming the items
// and dropping empty ones. It returns nil when there are no items.
func SplitList(s string) []string {
	var out []string
	for item := range strings.SplitSeq(s, ";") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// ---------------------------------------------------------------------------
// Contact details. These are personal data: nothing here puts them in an
// error or a log line.

// NormalizeEmail returns an email address trimmed and lower-cased, the form
// in which it identifies a person (one Person per email). It does not check
// the address; see ValidEmail.
func NormalizeEmail(s string) string {
	return strings.ToLower(strings.TrimSpace(s))
}

// ValidEmail reports whether s, already normalised, is a plausible single
// address: exactly one '@'; a local part that is not empty, at most 64 bytes,
// and free of space, control characters and the characters that separate
// or decorate addresses (,;:<>()[]\"); a domain of at least two dot-separated
// labels of letters, digits and '-' (not at a label's ends), whose last label
// is not all digits; no empty label or consecutive dots on either side of
// the '@'; at most 254 bytes and valid UTF-8 in all.
func ValidEmail(s string) bool {
	if len(s) > 254 || !utf8.ValidString(s) {
		return false
	}
	at := strings.IndexByte(s, '@')
	if at <= 0 || at > 64 || strings.IndexByte(s[at+1:], '@') >= 0 {
		return false
	}
	return validEmailLocal(s[:at]) && validEmailDomain(s[at+1:])
}

func validEmailLocal(local string) bool {
	if local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return false
	}
	for _, r := range local {
		switch {
		case r >= utf8.RuneSelf:
			if !unicode.IsPrint(r) || unicode.IsSpace(r) {
				return false
			}
		case r <= ' ' || r == 0x7f:
			return false
		case strings.ContainsRune(`,;:<>()[]\"`, r):
			return false
		}
	}
	return true
}

func validEmailDomain(domain string) bool {
	if len(domain) == 0 || len(domain) > 253 {
		return false
	}
	labels := 0
	last := ""
	for label := range strings.SplitSeq(domain, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			switch {
			case r == '-', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			case r >= utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)):
			default:
				return false
			}
		}
		labels++
		last = label
	}
	if labels < 2 {
		return false
	}
	for i := 0; i < len(last); i++ {
		if !isDigit(last[i]) {
			return true
		}
	}
	return false
}

// NormalizePhone returns a phone number in E.164 form (+447700900123), with
// ok false when s is not a plausible number. It reads UK numbers written
// nationally (07700 900123), internationally (+44 7700 900123,
// +44 (0)20 7946 0018, 0044 20 7946 0018), and other countries' numbers
// written with + or 00 and their country code, 8 to 15 digits in all. Spaces,
// tabs, dashes, dots and brackets may separate the digits; a "(0)" after the
// country code is dropped. A UK number must have 10 digits after the leading
// 0 and start 01, 02, 03, 05, 07, 08 or 09; the 9-digit 0800 and 016977
// ranges are accepted too. Letters (including extensions), other
// characters, a number written without 0, + or 00 in front, or too few or
// too many digits give ok false.
func NormalizePhone(s string) (e164 string, ok bool) {
	s = strings.TrimSpace(s)
	var buf [17]byte // at most 15 digits after a 00 prefix
	digits := buf[:0]
	plus := false
	i := 0
	if s != "" && s[0] == '+' {
		plus = true
		i = 1
	}
	for ; i < len(s); i++ {
		c := s[i]
		switch c {
		case '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			if len(digits) == cap(digits) {
				return "", false
			}
			digits = append(digits, c)
		case '(':
			// "+44 (0)20 …": the trunk 0 shown for callers inside the country.
			intl := plus || (len(digits) >= 2 && digits[0] == '0' && digits[1] == '0')
			if intl && len(digits) > 0 && strings.HasPrefix(s[i:], "(0)") {
				i += 2
			}
		case ' ', '\t', '-', '.', ')':
		default:
			return "", false
		}
	}
	if !plus {
		switch {
		case len(digits) >= 3 && digits[0] == '0' && digits[1] == '0':
			digits = digits[2:]
		case len(digits) >= 1 && digits[0] == '0':
			if !validUKNational(digits[1:]) {
				return "", false
			}
			return "+44" + string(digits[1:]), true
		default:
			return "", false
		}
	}
	if len(digits) == 0 || digits[0] == '0' {
		return "", false
	}
	if len(digits) >= 2 && digits[0] == '4' && digits[1] == '4' {
		nsn := digits[2:]
		if len(nsn) > 0 && nsn[0] == '0' {
			nsn = nsn[1:]
		}
		if !validUKNational(nsn) {
			return "", false
		}
		return "+44" + string(nsn), true
	}
	if len(digits) < 8 || len(digits) > 15 {
		return "", false
	}
	return "+" + string(digits), true
}

// validUKNational reports whether nsn, a UK number without its leading 0,
// is a plausible dialable number.
func validUKNational(nsn []byte) bool {
	if len(nsn) == 0 {
		return false
	}
	switch nsn[0] {
	case '1', '2', '3', '5', '7', '8', '9':
	default:
		return false
	}
	switch len(nsn) {
	case 10:
		return true
	case 9:
		return string(nsn[:3]) == "800" || string(nsn[:5]) == "16977"
	}
	return false
}
