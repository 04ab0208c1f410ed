package extract

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/conveyor-migrate/conveyor/internal/blob/memblob"
	pp "github.com/conveyor-migrate/conveyor/internal/perfectportal"
)

// FuzzConservation feeds arbitrary clients, matters and links to the whole
// check and asserts the promise the audit makes whatever the input: every
// row read ends in exactly one of the four outcomes.
func FuzzConservation(f *testing.F) {
	files := rulesBundle()
	f.Add([]byte(files["clients.csv"]), []byte(files["matters.csv"]), []byte(files["matter_clients.csv"]), []byte(files["activities.csv"]))
	f.Add([]byte("client_id,email\nC1,a@example.com\nC1,A@example.com\nC2,a@example.com\n"), []byte("matter_id\nM1\nM1\n"),
		[]byte("matter_id,client_id\nM1,C2\nM1,C1\nM1,C1\n"), []byte("activity_id,matter_id,type,occurred_at\nA1,M1,x,2026-01-01\n"))
	f.Add([]byte(""), []byte("matter_id\n"), []byte("nope"), []byte("\"\n"))
	f.Fuzz(func(t *testing.T, clients, matters, links, activities []byte) {
		ctx := context.Background()
		store := memblob.New()
		put := func(name string, data []byte) {
			if err := store.Put(ctx, "b/"+name, bytes.NewReader(data)); err != nil {
				t.Fatal(err)
			}
		}
		put("clients.csv", clients)
		put("matters.csv", matters)
		put("matter_clients.csv", links)
		put("activities.csv", activities)
		b, err := pp.OpenStore(ctx, store, "b/")
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		res, err := Run(ctx, b, Options{Stage: memblob.New(), StagePrefix: "s/"})
		if err != nil {
			t.Fatal(err)
		}
		for name, c := range res.Report.Tables {
			if !c.Balanced() || c.Accepted < 0 {
				t.Fatalf("%s: %+v does not add up", name, c)
			}
		}
		staged := res.Staged.Kinds[KindMatters].Records
		if want := res.Report.Tables[pp.TableMatters].Accepted; staged != want {
			t.Fatalf("%d matters staged; %d accepted", staged, want)
		}
		if _, err := json.Marshal(res.Report); err != nil {
			t.Fatal(err)
		}
	})
}
