package perfectportal

import "fmt"

// Severity grades a flag. An error-severity flag means the bundle, or part of
// it, cannot be trusted as it is.
type Severity string

// Severities, from least to most serious.
const (
	SeverityInfo    Severity = "info"
	SeverityWarning Severity = "warning"
	SeverityError   Severity = "error"
)

// Flag is one finding about the bundle: a file, a row or a value that is
// missing, odd or unusable. Messages never quote personal data (names,
// emails, phone numbers, addresses, document contents); they name the file,
// line, column and source id instead.
type Flag struct {
	Severity Severity `json:"severity"`
	Code     string   `json:"code"`
	Table    string   `json:"table"`
	File     string   `json:"file,omitempty"`
	// Line is the 1-based line in the file where the record starts, the
	// header being line 1 (for a workbook, the sheet's row number); 0 for a
	// finding about a whole file.
	Line     int    `json:"line"`
	SourceID string `json:"source_id"`
	Message  string `json:"message"`
}

// String renders the flag for people: "error matters.csv line 12 (M-1): ...".
func (f Flag) String() string {
	where := f.File
	if where == "" {
		where = f.Table
	}
	if f.Line > 0 {
		where = fmt.Sprintf("%s line %d", where, f.Line)
	}
	if f.SourceID != "" {
		where = fmt.Sprintf("%s (%s)", where, f.SourceID)
	}
	return fmt.Sprintf("%-7s %s: %s [%s]", f.Severity, where, f.Message, f.Code)
}
