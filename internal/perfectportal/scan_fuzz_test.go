package perfectportal

import (
	"bytes"
	"context"
	"testing"

	"github.com/conveyor-migrate/conveyor/internal/blob/memblob"
)

// fuzzScan stores one table file in a bundle and scans it, checking what
// any input must give: as many rows delivered as counted, each starting on
// a later line than the one before, never on the header's line.
func fuzzScan(t *testing.T, name, table string, data []byte) {
	ctx := context.Background()
	store := memblob.New()
	if err := store.Put(ctx, "b/"+name, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	b, err := OpenStore(ctx, store, "b/")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	tf, _, ok, err := b.Locate(ctx, table)
	if err != nil || !ok {
		t.Fatalf("Locate: ok=%v err=%v", ok, err)
	}
	delivered, last := 0, 0
	spec, _ := Spec(table)
	res, _ := b.Scan(ctx, tf, map[string]string{"case_id": "matter_id"}, func(r *Row) error {
		delivered++
		if r.Line <= last || r.Line < 1 {
			t.Fatalf("row %d starts at line %d after line %d", delivered, r.Line, last)
		}
		if tf.Format == FormatCSV && r.Line < 2 {
			t.Fatalf("a CSV record at line %d, the header's", r.Line)
		}
		last = r.Line
		for _, c := range spec.Columns {
			r.Get(c)
		}
		r.Custom()
		r.Hash()
		if r.Problem == "" && !r.Blank {
			DecodeMatter(r)
		}
		return nil
	})
	if delivered != res.Rows {
		t.Fatalf("%d rows delivered but %d counted", delivered, res.Rows)
	}
}

func FuzzScanCSV(f *testing.F) {
	for _, s := range []string{
		"matter_id,description\nM1,a\n",
		"\ufeffCase ID,Description\r\nM1,\"multi\r\nline\"\r\nM2,\"a \"\"q\"\"\"\r\n",
		"matter_id,custom.Lender Ref\nM1,LR\n,\n\nM2\n",
		"matter_id\n\"unterminated\n",
		"a,b,c\n1,2,3,4\n",
		"",
		"matter_id,created_at,legal_fee,purchase_price,expected_completion_date\nM1,01/03/2026 09:30,\"£1,234.50\",0,24/12/2026\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { fuzzScan(t, "matters.csv", TableMatters, data) })
}

func FuzzScanNDJSON(f *testing.F) {
	for _, s := range []string{
		`{"matter_id":"M1","description":"a"}` + "\n",
		`{"Case ID":"M1","legal_fee":1234.5,"done":true,"x":null,"tags":["a","b"]}` + "\n\n" + `not json` + "\n",
		`{"matter_id":"M1","nested":{"a":1}}`,
		`[1,2]` + "\n" + `{"matter_id":"M2"} {"matter_id":"M3"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { fuzzScan(t, "matters.ndjson", TableMatters, data) })
}
