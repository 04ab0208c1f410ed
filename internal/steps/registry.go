package steps

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/conveyor-migrate/conveyor/internal/asl"
	"github.com/conveyor-migrate/conveyor/internal/migrate"
)

// Functions names each step's Lambda function: its directory under
// functions/, its handler here, and (with "FunctionArn" after the logical
// id) the substitution the state machine definitions use for it.
var Functions = []struct{ Dir, LogicalID string }{
	{"extract", "ExtractFunction"}, {"schema", "SchemaFunction"}, {"stages", "StagesFunction"},
	{"owners", "OwnersFunction"}, {"sample", "SampleFunction"}, {"load", "LoadFunction"},
	{"transfer", "TransferFunction"}, {"estimate", "EstimateFunction"}, {"verify", "VerifyFunction"},
	{"finish", "FinishFunction"}, {"approval", "ApprovalFunction"}, {"rollback", "RollbackFunction"},
}

// Substitutions are the definitions' ${<LogicalId>Arn} placeholders for
// an in-process execution: each names its function's directory, under
// which Handlers registers the handler.
func Substitutions() map[string]string {
	m := map[string]string{}
	for _, f := range Functions {
		m[f.LogicalID+"Arn"] = f.Dir
	}
	return m
}

// Handlers are the step handlers for an in-process execution of the
// definitions, by function directory.
func (d *Deps) Handlers() map[string]asl.Handler {
	return map[string]asl.Handler{
		"extract": adapt(d.Extract), "schema": adapt(d.Schema), "stages": adapt(d.Stages), "owners": adapt(d.Owners),
		"sample": adapt(d.Sample), "load": adapt(d.Load), "transfer": adapt(d.Transfer), "estimate": adapt(d.Estimate),
		"verify": adapt(d.Verify), "finish": adapt(d.Finish), "approval": adapt(d.Approval), "rollback": adapt(d.Rollback),
	}
}

// adapt turns a typed handler into one of JSON, as aws-lambda-go does:
// the input decoded, the output encoded, the error as it is.
func adapt[I, O any](f func(context.Context, I) (O, error)) asl.Handler {
	return func(ctx context.Context, raw json.RawMessage) (json.RawMessage, error) {
		var in I
		if err := json.Unmarshal(raw, &in); err != nil {
			return nil, &migrate.InputError{Msg: fmt.Sprintf("step input: %v", err)}
		}
		out, err := f(ctx, in)
		if err != nil {
			return nil, err
		}
		return json.Marshal(out)
	}
}
