package mapping

import "testing"

// TestCostsSection: the report's cost figures may sit in the mapping
// configuration; the migration keeps them for the report and a section that
// is not a mapping is refused with its line.
func TestCostsSection(t *testing.T) {
	data := append(DefaultYAML(), []byte("\ncosts:\n  perfect_portal_per_matter: 12\n  matters_per_year: 400\n")...)
	cfg, err := Parse("x.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Costs["perfect_portal_per_matter"] != 12 || cfg.Costs["matters_per_year"] != 400 {
		t.Errorf("costs = %v", cfg.Costs)
	}
	if _, err := Parse("x.yaml", append(DefaultYAML(), []byte("\ncosts: [1, 2]\n")...)); err == nil {
		t.Error("costs as a list: no error")
	}
}
