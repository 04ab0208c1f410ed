package extract

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/conveyor-migrate/conveyor/internal/blob"
	"github.com/conveyor-migrate/conveyor/internal/blob/blobtest"
	"github.com/conveyor-migrate/conveyor/internal/blob/memblob"
	"github.com/conveyor-migrate/conveyor/internal/blob/s3blob"
	"github.com/conveyor-migrate/conveyor/internal/mapping"
	"github.com/conveyor-migrate/conveyor/internal/sampleexport"
)

// upload copies a local bundle into a store under prefix.
func upload(t *testing.T, store blob.Store, dir, prefix string) {
	t.Helper()
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return store.Put(context.Background(), prefix+filepath.ToSlash(rel), f)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestStep(t *testing.T) {
	s3client, bucket := blobtest.NewS3TestServer(t)
	stores := map[string]blob.Store{"memblob": memblob.New(), "s3 (gofakes3)": s3blob.New(s3client, bucket, "")}
	for name, store := range stores {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			loc, _ := writeSample(t, sampleCase{opt: sampleexport.Options{Matters: 20, Seed: 31, Messy: true}})
			upload(t, store, loc, "exports/m1/e1/")
			store.Put(ctx, "config/m1.yaml", bytesReader(mapping.DefaultYAML()))
			step := &Step{Store: store}
			out, err := step.Handle(ctx, StepInput{MigrationID: "m1", Export: "exports/m1/e1/", Config: "config/m1.yaml"})
			if err != nil {
				t.Fatal(err)
			}
			if !out.Trusted || out.Manifest != "migrations/m1/staged/manifest.json" || out.Warnings == 0 {
				t.Errorf("output = %+v", out)
			}
			for _, c := range out.Tables {
				if !c.Balanced() {
					t.Errorf("unbalanced counts %+v", c)
				}
			}
			m, lines := readStaged(t, store, "migrations/m1/staged/")
			if got, want := len(lines[KindMatters]), out.Tables["matters"].Accepted; got != want || m.Kinds[KindMatters].Records != want {
				t.Errorf("%d matters staged; %d accepted", got, want)
			}
		})
	}
}

func bytesReader(b []byte) *os.File {
	f, _ := os.CreateTemp("", "cfg")
	f.Write(b)
	f.Seek(0, 0)
	return f
}

func TestStepErrors(t *testing.T) {
	store := memblob.New()
	store.Put(context.Background(), "config/bad.yaml", bytesReader([]byte("version: 2\n")))
	step := &Step{Store: store}
	tests := []struct {
		name string
		in   StepInput
		want any
	}{
		{"bad migration id", StepInput{MigrationID: "../x", Export: "exports/a/"}, &InputError{}},
		{"no export", StepInput{MigrationID: "m1"}, &InputError{}},
		{"missing config", StepInput{MigrationID: "m1", Export: "exports/a/", Config: "config/none.yaml"}, &InputError{}},
		{"bad config", StepInput{MigrationID: "m1", Export: "exports/a/", Config: "config/bad.yaml"}, &InputError{}},
		{"nothing at the prefix", StepInput{MigrationID: "m1", Export: "exports/none/"}, &BundleError{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := step.Handle(context.Background(), tc.in)
			switch tc.want.(type) {
			case *InputError:
				var e *InputError
				if !errors.As(err, &e) {
					t.Errorf("err = %T %v; want *InputError", err, err)
				}
			case *BundleError:
				var e *BundleError
				if !errors.As(err, &e) {
					t.Errorf("err = %T %v; want *BundleError", err, err)
				}
			}
		})
	}
}
