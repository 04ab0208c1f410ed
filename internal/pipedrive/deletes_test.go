package pipedrive

import (
	"context"
	"errors"
	"testing"

	"github.com/conveyor-migrate/conveyor/internal/pipedrive/sandbox"
)

func TestDeleteSchemaItems(t *testing.T) {
	env := newSandboxEnv(t, "growth", sandbox.Faults{})
	c, ctx := env.c, context.Background()
	field, err := c.CreateField(ctx, PersonFields, FieldInput{Name: "Perfect Portal id", Type: "varchar"})
	if err != nil {
		t.Fatal(err)
	}
	pipe, err := c.CreatePipeline(ctx, PipelineInput{Name: "Conveyancing"})
	if err != nil {
		t.Fatal(err)
	}
	stage, err := c.CreateStage(ctx, StageInput{Name: "Instructed", PipelineID: pipe.ID})
	if err != nil {
		t.Fatal(err)
	}
	typ, err := c.CreateActivityType(ctx, ActivityTypeInput{Name: "SMS", IconKey: "smartphone"})
	if err != nil {
		t.Fatal(err)
	}

	deletes := []struct {
		name string
		del  func() error
	}{
		{"field", func() error { return c.DeleteField(ctx, PersonFields, field.Code) }},
		{"stage", func() error { return c.DeleteStage(ctx, stage.ID) }},
		{"pipeline", func() error { return c.DeletePipeline(ctx, pipe.ID) }},
		{"activity type", func() error { return c.DeleteActivityType(ctx, typ.ID) }},
	}
	for _, d := range deletes {
		if err := d.del(); err != nil {
			t.Errorf("delete %s: %v", d.name, err)
		}
		var nf *NotFoundError
		if err := d.del(); !errors.As(err, &nf) {
			t.Errorf("delete %s again: %v, want *NotFoundError", d.name, err)
		}
	}

	fields, err := c.ListFields(ctx, PersonFields)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fields {
		if f.Code == field.Code {
			t.Errorf("deleted field listed")
		}
	}
	pipes, err := c.ListPipelines(ctx)
	if err != nil || len(pipes) != 1 {
		t.Errorf("pipelines after delete: %v %v", pipes, err)
	}
	types, err := c.ListActivityTypes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, at := range types {
		if at.ID == typ.ID {
			t.Errorf("deleted activity type listed")
		}
	}

	var invalid *ValidationError
	if err := c.DeleteField(ctx, DealFields, "title"); !errors.As(err, &invalid) {
		t.Errorf("delete a built-in field: %v, want *ValidationError", err)
	}
	env.checkMeters(t)

	before := env.sb.Meter().Requests
	for name, err := range map[string]error{
		"unknown kind":  c.DeleteField(ctx, "activity", field.Code),
		"empty code":    c.DeleteField(ctx, DealFields, " "),
		"zero pipeline": c.DeletePipeline(ctx, 0),
		"zero stage":    c.DeleteStage(ctx, 0),
		"negative type": c.DeleteActivityType(ctx, -1),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if got := env.sb.Meter().Requests; got != before {
		t.Errorf("refused deletes sent %d requests", got-before)
	}
}

// TestDeleteFieldLostAnswer: a delete whose answer is lost is retried, and
// the 404 of the retry means the lost attempt did it.
func TestDeleteFieldLostAnswer(t *testing.T) {
	env := newSandboxEnv(t, "growth", sandbox.Faults{FailAfterWrites: 1})
	ctx := context.Background()
	field, err := env.c.CreateField(ctx, DealFields, FieldInput{Name: "Matter number", Type: "varchar"})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.c.DeleteField(ctx, DealFields, field.Code); err != nil {
		t.Fatalf("delete with its answer lost: %v", err)
	}
	if m := env.sb.Meter(); m.Dropped != 1 {
		t.Errorf("dropped %d, want 1", m.Dropped)
	}
	if n := len(env.sb.Snapshot().Fields["deal"]); n != 0 {
		t.Errorf("%d deal fields left", n)
	}
}
