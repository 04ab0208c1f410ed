package migrate

import (
	"slices"
	"testing"

	"github.com/conveyor-migrate/conveyor/internal/ledger"
)

// TestPendingSharedID: two source records written to one Pipedrive record
// (a client and a referrer linked to the same existing person) are both
// checked when it is listed, and both missing when it is not.
func TestPendingSharedID(t *testing.T) {
	v := &verifier{rep: &VerifyReport{Kinds: map[string]*KindCheck{}}}
	p := v.pending("person")
	created := ledger.Entry{TargetID: 7, Op: ledger.OpCreate}
	linked := ledger.Entry{TargetID: 7, Op: ledger.OpLink, Previous: []byte(`{"phone":null}`)}
	if err := p.add("client/1", created, map[string]any{"name": "A", "phone": "1"}); err != nil {
		t.Fatal(err)
	}
	if err := p.add("referrer/2", linked, map[string]any{"name": "B", "phone": "2"}); err != nil {
		t.Fatal(err)
	}
	if n := p.meet(7, map[string]any{"name": "A", "phone": "1"}); n != 2 {
		t.Fatalf("meet answered %d expected records; want 2", n)
	}
	if n := p.meet(7, map[string]any{"name": "A"}); n != 0 {
		t.Errorf("a record listed twice answered %d more; want 0", n)
	}
	// The link filled only the phone: its name is not the migration's.
	want := []Mismatch{{Key: "referrer/2", Field: "phone", Want: "2", Got: "1"}}
	if !slices.Equal(v.rep.Mismatches, want) {
		t.Errorf("mismatches %+v; want %+v", v.rep.Mismatches, want)
	}
	if k := v.rep.Kinds["person"]; k.Found != 2 || k.Matching != 1 {
		t.Errorf("person counts %+v; want 2 found, 1 matching", k)
	}

	p = v.pending("person")
	for _, key := range []string{"client/3", "referrer/4"} {
		if err := p.add(key, ledger.Entry{TargetID: 9, Op: ledger.OpCreate}, map[string]any{"name": "C"}); err != nil {
			t.Fatal(err)
		}
	}
	p.done()
	slices.Sort(v.rep.Missing)
	if !slices.Equal(v.rep.Missing, []string{"client/3", "referrer/4"}) {
		t.Errorf("missing %v; want both records of the unlisted id", v.rep.Missing)
	}
}
