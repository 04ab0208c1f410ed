// Package approval keeps the approvals a migration waits for and answers
// them.
//
// Before a sample, full or delta run moves anything, the migration state
// machine stops at a .waitForTaskToken task: the approval Lambda stores a
// [Request], with the task token, at migrations/<migration>/approvals/<run>.json
// (see [Key]). `conveyor approve` lists the requests not yet answered
// ([Pending]) and answers one: [Approve] sends the token back with
// SendTaskSuccess, [Reject] with SendTaskFailure (error "ApprovalRejected"),
// and either rewrites the request with its answer, so that it is no longer
// pending and the object says who answered, when, and how.
//
// A token Step Functions no longer accepts (the task timed out, or the
// execution ended) marks the request expired and returns an *ExpiredError.
package approval

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/conveyor-migrate/conveyor/internal/blob"
)

// Answers a request can have.
const (
	Approved = "approved"
	Rejected = "rejected"
	Expired  = "expired"
)

// RejectedError is the error SendTaskFailure reports to the state machine
// on a rejection: its Catch matches it.
const RejectedError = "ApprovalRejected"

// ErrNothingPending is returned, wrapped, when a migration has no request
// waiting for an answer (or not the one asked for).
var ErrNothingPending = errors.New("no approval is pending")

// ErrAnswered is returned, wrapped, when the request asked for was answered
// already.
var ErrAnswered = errors.New("the approval was already answered")

// Request is a waiting approval, as the approval Lambda stores it at
// Key(MigrationID, Run), and its answer once it has one. The JSON names are
// those of steps.ApprovalRequest, which writes it.
type Request struct {
	MigrationID string `json:"migration_id"`
	// Run is the execution name.
	Run string `json:"run"`
	// Mode is what the run waits to do: sample, full or delta.
	Mode string `json:"mode"`
	// Token is the .waitForTaskToken task's token. It lets anyone who holds
	// it move the run on: never print or log it.
	Token string `json:"token"`
	// State is the state machine's state that waits, if the request says.
	State       string    `json:"state,omitempty"`
	RequestedAt time.Time `json:"requested_at"`
	// Reports are the keys of what to read before answering, first first.
	Reports []string `json:"reports,omitempty"`

	// Answer is "" while the request is pending, then Approved, Rejected
	// or Expired.
	Answer     string    `json:"answer,omitempty"`
	AnsweredBy string    `json:"answered_by,omitempty"`
	AnsweredAt time.Time `json:"answered_at,omitzero"`
	// Reason is a rejection's reason, or what Step Functions said of an
	// expired token.
	Reason string `json:"reason,omitempty"`
}

// Pending reports whether the request waits for an answer.
func (r Request) Pending() bool { return r.Answer == "" }

// ExpiredError is a request whose token Step Functions no longer accepts:
// the task timed out or the execution ended. The request is marked
// expired; the run must be started again to be approved.
type ExpiredError struct {
	MigrationID, Run string
	// Code is Step Functions' error code: TaskTimedOut, InvalidToken or
	// TaskDoesNotExist.
	Code string
}

func (e *ExpiredError) Error() string {
	return fmt.Sprintf("approval of run %s of migration %s has expired (Step Functions: %s): the run no longer waits; start it again to approve it", e.Run, e.MigrationID, e.Code)
}

// TaskAPI is the part of the Step Functions client that answers a task
// token; *sfn.Client implements it.
type TaskAPI interface {
	SendTaskSuccess(ctx context.Context, in *sfn.SendTaskSuccessInput, optFns ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error)
	SendTaskFailure(ctx context.Context, in *sfn.SendTaskFailureInput, optFns ...func(*sfn.Options)) (*sfn.SendTaskFailureOutput, error)
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$`)

// ValidID returns nil if migration is a valid migration id: letters,
// digits, '.', '_' and '-', up to 80, starting with a letter or digit.
func ValidID(migration string) error { return checkMigration(migration) }

func checkMigration(migration string) error {
	if !idPattern.MatchString(migration) {
		return fmt.Errorf("approval: migration id %q: use letters, digits, '.', '_' and '-' (up to 80)", migration)
	}
	return nil
}

func checkRun(run string) error {
	if run == "" || strings.ContainsAny(run, `/\`) || run == "." || run == ".." {
		return fmt.Errorf("approval: run %q: a run is an execution name", run)
	}
	return nil
}

// Prefix is where a migration's approvals are kept.
func Prefix(migration string) string { return "migrations/" + migration + "/approvals/" }

// Key is where the approval of one run of a migration is kept.
func Key(migration, run string) string { return Prefix(migration) + run + ".json" }

// Save stores r at Key(r.MigrationID, r.Run), replacing what is there.
func Save(ctx context.Context, store blob.Store, r Request) error {
	if err := checkMigration(r.MigrationID); err != nil {
		return err
	}
	if err := checkRun(r.Run); err != nil {
		return err
	}
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	key := Key(r.MigrationID, r.Run)
	if err := store.Put(ctx, key, bytes.NewReader(append(data, '\n'))); err != nil {
		return fmt.Errorf("approval: save %s: %w", key, err)
	}
	return nil
}

// Load reads the request of one run. It returns an error wrapping
// ErrNothingPending if there is none.
func Load(ctx context.Context, store blob.Store, migration, run string) (Request, error) {
	if err := checkMigration(migration); err != nil {
		return Request{}, err
	}
	if err := checkRun(run); err != nil {
		return Request{}, err
	}
	key := Key(migration, run)
	data, err := store.Get(ctx, key)
	if errors.Is(err, blob.ErrNotFound) {
		return Request{}, fmt.Errorf("approval: migration %s has no approval request for run %s: %w", migration, run, ErrNothingPending)
	}
	if err != nil {
		return Request{}, fmt.Errorf("approval: read %s: %w", key, err)
	}
	var r Request
	if err := json.Unmarshal(data, &r); err != nil {
		return Request{}, fmt.Errorf("approval: %s is not an approval request: %w", key, err)
	}
	return r, nil
}

// Pending returns every request of the migration not yet answered, newest
// first (by RequestedAt, then by run).
func Pending(ctx context.Context, store blob.Store, migration string) ([]Request, error) {
	if err := checkMigration(migration); err != nil {
		return nil, err
	}
	infos, err := store.List(ctx, Prefix(migration))
	if err != nil {
		return nil, fmt.Errorf("approval: list %s: %w", Prefix(migration), err)
	}
	var pending []Request
	for _, info := range infos {
		run, ok := strings.CutSuffix(strings.TrimPrefix(info.Key, Prefix(migration)), ".json")
		if !ok || checkRun(run) != nil {
			continue
		}
		r, err := Load(ctx, store, migration, run)
		if errors.Is(err, ErrNothingPending) {
			continue // deleted since the listing
		}
		if err != nil {
			return nil, err
		}
		if r.Pending() {
			pending = append(pending, r)
		}
	}
	sort.SliceStable(pending, func(i, j int) bool {
		a, b := pending[i], pending[j]
		if !a.RequestedAt.Equal(b.RequestedAt) {
			return a.RequestedAt.After(b.RequestedAt)
		}
		return a.Run > b.Run
	})
	return pending, nil
}

// find returns the request to answer: the one of run, or the newest
// pending one when run is "".
func find(ctx context.Context, store blob.Store, migration, run string) (Request, error) {
	if run == "" {
		pending, err := Pending(ctx, store, migration)
		if err != nil {
			return Request{}, err
		}
		if len(pending) == 0 {
			return Request{}, fmt.Errorf("approval: migration %s: %w", migration, ErrNothingPending)
		}
		return pending[0], nil
	}
	r, err := Load(ctx, store, migration, run)
	if err != nil {
		return Request{}, err
	}
	if !r.Pending() {
		return r, answeredError(r)
	}
	return r, nil
}

func answeredError(r Request) error {
	return fmt.Errorf("approval: run %s of migration %s was %s by %s at %s: %w",
		r.Run, r.MigrationID, r.Answer, r.AnsweredBy, r.AnsweredAt.UTC().Format(time.RFC3339), ErrAnswered)
}

// ApprovedOutput is the task's output on approval: what the state machine
// continues with.
type ApprovedOutput struct {
	Approved bool   `json:"approved"`
	By       string `json:"by"`
	At       string `json:"at"`
}

// Approve sends the token of run's request (the newest pending request
// when run is "") back with SendTaskSuccess and output
// {"approved":true,"by":by,"at":now}, and marks the request approved. It
// returns the request as answered; an error wrapping ErrNothingPending or
// ErrAnswered when there is nothing to approve; an *ExpiredError when Step
// Functions no longer accepts the token (the request is then marked
// expired).
func Approve(ctx context.Context, store blob.Store, client TaskAPI, migration, run, by string, now time.Time) (Request, error) {
	r, err := find(ctx, store, migration, run)
	if err != nil {
		return r, err
	}
	out, err := json.Marshal(ApprovedOutput{Approved: true, By: by, At: now.UTC().Format(time.RFC3339)})
	if err != nil {
		return r, err
	}
	_, err = client.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(r.Token), Output: aws.String(string(out))})
	return answer(ctx, store, r, Approved, by, "", now, err)
}

// Reject sends the token of run's request (the newest pending request when
// run is "") back with SendTaskFailure, error "ApprovalRejected" and a
// cause naming who rejected it, when and why, and marks the request
// rejected. It returns what Approve returns.
func Reject(ctx context.Context, store blob.Store, client TaskAPI, migration, run, by, reason string, now time.Time) (Request, error) {
	r, err := find(ctx, store, migration, run)
	if err != nil {
		return r, err
	}
	cause := fmt.Sprintf("rejected by %s at %s", by, now.UTC().Format(time.RFC3339))
	if reason != "" {
		cause += ": " + reason
	}
	_, err = client.SendTaskFailure(ctx, &sfn.SendTaskFailureInput{
		TaskToken: aws.String(r.Token),
		Error:     aws.String(RejectedError),
		Cause:     aws.String(cause),
	})
	return answer(ctx, store, r, Rejected, by, reason, now, err)
}

// answer records how r was answered, given the error of sending the token.
func answer(ctx context.Context, store blob.Store, r Request, how, by, reason string, now time.Time, sendErr error) (Request, error) {
	code, expired := expiredCode(sendErr)
	if sendErr != nil && !expired {
		return r, fmt.Errorf("approval: answer run %s of migration %s: %w", r.Run, r.MigrationID, sendErr)
	}
	if expired {
		// A token already answered by someone else is refused too: keep
		// their answer rather than calling it expired.
		if cur, err := Load(ctx, store, r.MigrationID, r.Run); err == nil && !cur.Pending() {
			return cur, answeredError(cur)
		}
		how, reason = Expired, "Step Functions: "+code
	}
	r.Answer, r.AnsweredBy, r.AnsweredAt, r.Reason = how, by, now.UTC(), reason
	if err := Save(ctx, store, r); err != nil {
		if expired {
			return r, errors.Join(&ExpiredError{MigrationID: r.MigrationID, Run: r.Run, Code: code}, err)
		}
		return r, fmt.Errorf("approval: run %s of migration %s was %s, but the request could not be marked answered: %w", r.Run, r.MigrationID, how, err)
	}
	if expired {
		return r, &ExpiredError{MigrationID: r.MigrationID, Run: r.Run, Code: code}
	}
	return r, nil
}

// expiredCode reports whether err is Step Functions refusing the token as
// no longer valid, and its code.
func expiredCode(err error) (string, bool) {
	var (
		timedOut *types.TaskTimedOut
		invalid  *types.InvalidToken
		gone     *types.TaskDoesNotExist
	)
	switch {
	case err == nil:
		return "", false
	case errors.As(err, &timedOut):
		return timedOut.ErrorCode(), true
	case errors.As(err, &invalid):
		return invalid.ErrorCode(), true
	case errors.As(err, &gone):
		return gone.ErrorCode(), true
	}
	return "", false
}
