package perfectportal

import "testing"

func TestNormalizeHeader(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"spaces and capitals", "Matter Number", "matter_number"},
		{"surrounding space and dash", " matter-number ", "matter_number"},
		{"repeated underscores", "MATTER__NUMBER", "matter_number"},
		{"already canonical", "matter_number", "matter_number"},
		{"mixed separators", "Matter - _ Number", "matter_number"},
		{"trailing separator", "matter_number_", "matter_number"},
		{"leading separator", "-matter_number", "matter_number"},
		{"custom keeps its name", "custom.Lender Ref", "custom.Lender Ref"},
		{"custom prefix lower-cased", "Custom.Lender Ref", "custom.Lender Ref"},
		{"custom prefix upper-case", "CUSTOM.Lender Ref", "custom.Lender Ref"},
		{"custom name trimmed", " custom. Lender Ref ", "custom.Lender Ref"},
		{"bom prefixed", "\ufeffmatter_id", "matter_id"},
		{"bom prefixed with space", "\ufeff Matter ID ", "matter_id"},
		{"bom prefixed custom", "\ufeffcustom.Lender Ref", "custom.Lender Ref"},
		{"tabs", "\tMatter\tNumber\t", "matter_number"},
		{"non-ASCII letters lower-cased", "Référence Client", "référence_client"},
		{"empty", "", ""},
		{"only separators", " -_ ", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NormalizeHeader(tt.in); got != tt.want {
				t.Errorf("NormalizeHeader(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
