// Package trigger is the Trigger Lambda's handler: it starts the migration
// state machine for an export uploaded to the bucket, and for the newest
// export on the delta schedule.
//
// Two events reach it, both decoded from the raw JSON the Lambda receives:
//
//   - Amazon S3's "Object Created" event, through EventBridge
//     (source "aws.s3", detail.bucket.name, detail.object.key and etag).
//     Only an export's manifest.json, exports/<migration>/<export-id>/manifest.json,
//     or a zipped export, exports/<migration>/<export-id>.zip, starts a run;
//     every other object is ignored. The run's mode comes from the export
//     id's suffix: ".sample", ".full" or ".delta", and "plan" otherwise.
//   - The delta schedule's event from EventBridge Scheduler, the plain JSON
//     {"source": "conveyor.schedule", "migration_id": "..."}: the newest
//     export of the migration starts a delta run unless a full or delta run
//     of it was already started.
//
// The execution name is derived from the bucket, key and ETag of the object
// that starts it (see [ExecutionName]), so a repeated event starts nothing
// new. Every start is recorded at migrations/<migration>/triggers/<execution>.json
// (see [Record]); the record is checked before StartExecution, because Step
// Functions answers a repeated StartExecution of a running execution (same
// name, same input) with success rather than ExecutionAlreadyExists.
//
// The handler logs ids, keys and ETags only: export keys hold no personal
// data by the upload convention, and the export's content is never read.
package trigger

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/conveyor-migrate/conveyor/internal/blob"
)

// Modes of a migration execution (the execution input's "mode").
const (
	ModePlan   = "plan"
	ModeSample = "sample"
	ModeFull   = "full"
	ModeDelta  = "delta"
)

// Event sources and the S3 event's detail type.
const (
	SourceS3       = "aws.s3"
	SourceSchedule = "conveyor.schedule"
	ObjectCreated  = "Object Created"
)

// Sources of a [Record].
const (
	ByUpload   = "upload"
	BySchedule = "schedule"
)

// NoNewExport is the Result.Ignored of a scheduled event that finds
// nothing to start.
const NoNewExport = "no new export"

// maxNameLen is Step Functions' limit on an execution name.
const maxNameLen = 80

var (
	migrationPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$`)
	exportPattern    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
)

// StartExecutionAPI is the part of the Step Functions client the handler
// uses; *sfn.Client implements it.
type StartExecutionAPI interface {
	StartExecution(ctx context.Context, in *sfn.StartExecutionInput, optFns ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
}

// Handler starts the migration state machine. Its fields are set once, in
// main; Handle is safe for concurrent use.
type Handler struct {
	// SFN starts executions of StateMachineARN.
	SFN             StartExecutionAPI
	StateMachineARN string
	// Store is the migration bucket: exports/ is listed and read there,
	// and the trigger records are written under migrations/.
	Store blob.Store
	// Bucket is the name of the bucket Store is in. When set, an S3 event
	// from another bucket is ignored (the state machine reads only this
	// one). It is also part of every execution name.
	Bucket string
	// Now tells the time; nil means time.Now.
	Now func() time.Time
	// Log receives ids and keys, never content; nil discards.
	Log *slog.Logger
}

// Result is what one event did. Exactly one of Ignored, AlreadyStarted or
// a new start (Execution set, AlreadyStarted false) describes it.
type Result struct {
	// Ignored says why the event started nothing, when it did not.
	Ignored string `json:"ignored,omitempty"`
	// AlreadyStarted is true when the execution had been started by an
	// earlier delivery of the same event (or the same export).
	AlreadyStarted bool   `json:"already_started,omitempty"`
	MigrationID    string `json:"migration_id,omitempty"`
	Export         string `json:"export,omitempty"`
	Mode           string `json:"mode,omitempty"`
	// Execution is the execution's name (the run id) and ExecutionARN its ARN.
	Execution    string `json:"execution,omitempty"`
	ExecutionARN string `json:"execution_arn,omitempty"`
}

// Input is the migration state machine's execution input the trigger
// starts it with.
type Input struct {
	MigrationID string `json:"migration_id"`
	Export      string `json:"export"`
	Mode        string `json:"mode"`
}

// Record is migrations/<migration>/triggers/<execution>.json: the trigger
// started (or found already started) this execution for this export.
type Record struct {
	MigrationID  string `json:"migration_id"`
	Export       string `json:"export"`
	Mode         string `json:"mode"`
	Execution    string `json:"execution"`
	ExecutionARN string `json:"execution_arn,omitempty"`
	// Source is ByUpload or BySchedule.
	Source string `json:"source"`
	// Bucket, Key and ETag are the object the execution name derives from:
	// the manifest.json or the .zip.
	Bucket string `json:"bucket,omitempty"`
	Key    string `json:"key"`
	ETag   string `json:"etag,omitempty"`
	// AlreadyStarted is true when Step Functions said the execution existed.
	AlreadyStarted bool      `json:"already_started,omitempty"`
	RecordedAt     time.Time `json:"recorded_at"`
}

// InputError is an event the trigger cannot act on: an unknown event, a bad
// migration id or export id. Delivering it again would fail the same way,
// so it is not worth retrying.
type InputError struct{ Msg string }

func (e *InputError) Error() string { return "trigger: " + e.Msg }

// StoreError is a failure of the bucket (listing exports, reading or
// writing a trigger record); worth retrying.
type StoreError struct{ Err error }

func (e *StoreError) Error() string { return "trigger: store: " + e.Err.Error() }
func (e *StoreError) Unwrap() error { return e.Err }

// StartError is Step Functions refusing or failing StartExecution (other
// than ExecutionAlreadyExists, which is success); worth retrying.
type StartError struct {
	Execution string
	Err       error
}

func (e *StartError) Error() string {
	return fmt.Sprintf("trigger: start execution %s: %v", e.Execution, e.Err)
}
func (e *StartError) Unwrap() error { return e.Err }

// RecordKey is where the trigger records that it started execution of
// migration.
func RecordKey(migration, execution string) string {
	return "migrations/" + migration + "/triggers/" + execution + ".json"
}

// ExecutionName is the name of the execution that the object bucket/key,
// at ETag etag, starts in mode: "<migration>-<mode>-<h>", h the first 16
// hex digits of sha256(bucket "\n" key "\n" etag). Characters other than
// ASCII letters, digits, '-' and '_' become '_' (what Step Functions allows
// for executions it logs), and the migration part is cut so that the name
// fits Step Functions' 80 characters.
func ExecutionName(migration, mode, bucket, key, etag string) string {
	sum := sha256.Sum256([]byte(bucket + "\n" + key + "\n" + etag))
	suffix := "-" + safeName(mode) + "-" + hex.EncodeToString(sum[:])[:16]
	prefix := safeName(migration)
	if room := maxNameLen - len(suffix); len(prefix) > room {
		prefix = prefix[:room]
	}
	return prefix + suffix
}

func safeName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}

// ModeOf is the mode an export id asks for: the suffix ".sample", ".full"
// or ".delta", and ModePlan otherwise.
func ModeOf(exportID string) string {
	for _, m := range []string{ModeSample, ModeFull, ModeDelta} {
		if strings.HasSuffix(exportID, "."+m) {
			return m
		}
	}
	return ModePlan
}

// export is an export bundle found in the bucket: the object that stands
// for it (its manifest.json or its .zip) and what the execution input
// names.
type export struct {
	migration string
	id        string // the export id, without ".zip"
	ref       string // the execution input's "export": a folder prefix or the .zip key
	key       string // the manifest.json or the .zip
}

// parseKey reads the upload convention. It returns ignored != "" for an
// object that starts nothing, and an *InputError for one that would but
// whose ids are not valid.
func parseKey(key string) (e export, ignored string, err error) {
	parts := strings.Split(key, "/")
	if parts[0] != "exports" || len(parts) < 3 {
		return export{}, "not under exports/<migration>/", nil
	}
	switch {
	case len(parts) == 4 && parts[3] == "manifest.json":
		e = export{id: parts[2], ref: strings.Join(parts[:3], "/") + "/"}
	case len(parts) == 3 && strings.HasSuffix(strings.ToLower(parts[2]), ".zip"):
		e = export{id: parts[2][:len(parts[2])-len(".zip")], ref: key}
	default:
		return export{}, "only an export's manifest.json (exports/<migration>/<export-id>/manifest.json) or a zipped export (exports/<migration>/<export-id>.zip) starts a migration", nil
	}
	e.migration, e.key = parts[1], key
	if !migrationPattern.MatchString(e.migration) {
		return export{}, "", &InputError{Msg: fmt.Sprintf("key %q: migration id %q: use letters, digits, '.', '_' and '-' (up to 80), starting with a letter or digit", key, e.migration)}
	}
	if !exportPattern.MatchString(e.id) || strings.Contains(e.id, "..") {
		return export{}, "", &InputError{Msg: fmt.Sprintf("key %q: export id %q: use letters, digits, '.', '_' and '-' (up to 128), starting with a letter or digit", key, e.id)}
	}
	return e, "", nil
}

// envelope holds the fields of either event that tell them apart.
type envelope struct {
	Source      string          `json:"source"`
	DetailType  string          `json:"detail-type"`
	Detail      json.RawMessage `json:"detail"`
	MigrationID *string         `json:"migration_id"`
	ID          string          `json:"id"`
}

// objectDetail is the detail of S3's "Object Created" event.
type objectDetail struct {
	Bucket struct {
		Name string `json:"name"`
	} `json:"bucket"`
	Object struct {
		Key       string `json:"key"`
		Size      int64  `json:"size"`
		ETag      string `json:"etag"`
		VersionID string `json:"version-id"`
		Sequencer string `json:"sequencer"`
	} `json:"object"`
	Reason string `json:"reason"`
}

// Handle handles one event: an S3 "Object Created" event or a scheduled
// delta event. It returns an *InputError for an event it cannot act on, a
// *StoreError or *StartError for a failure worth retrying.
func (h *Handler) Handle(ctx context.Context, raw json.RawMessage) (Result, error) {
	var env envelope
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&env); err != nil {
		return Result{}, h.refuse(ctx, &InputError{Msg: fmt.Sprintf("event is not a JSON object: %v", err)})
	}
	switch {
	case env.Source == SourceS3 && env.DetailType == ObjectCreated:
		var d objectDetail
		if err := json.Unmarshal(env.Detail, &d); err != nil || d.Object.Key == "" {
			return Result{}, h.refuse(ctx, &InputError{Msg: fmt.Sprintf("event %s: an %q event without detail.object.key", env.ID, ObjectCreated)})
		}
		return h.upload(ctx, d)
	case env.Source == SourceS3:
		return h.ignore(ctx, Result{Ignored: fmt.Sprintf("S3 event %q: only %q starts a migration", env.DetailType, ObjectCreated)}, "event", env.ID)
	case env.Source == SourceSchedule:
		if env.MigrationID == nil {
			return Result{}, h.refuse(ctx, &InputError{Msg: "scheduled event without migration_id"})
		}
		return h.schedule(ctx, *env.MigrationID)
	default:
		return Result{}, h.refuse(ctx, &InputError{Msg: fmt.Sprintf("unknown event: source %q, detail-type %q; want an S3 %q event or {\"source\":%q,\"migration_id\":...}", env.Source, env.DetailType, ObjectCreated, SourceSchedule)})
	}
}

// upload starts the run an uploaded manifest.json or .zip asks for.
func (h *Handler) upload(ctx context.Context, d objectDetail) (Result, error) {
	bucket, key := d.Bucket.Name, d.Object.Key
	if h.Bucket != "" && bucket != h.Bucket {
		return h.ignore(ctx, Result{Ignored: fmt.Sprintf("object in bucket %q, not the migration bucket %q", bucket, h.Bucket)}, "bucket", bucket, "key", key)
	}
	e, ignored, err := parseKey(key)
	if err != nil {
		return Result{}, h.refuse(ctx, err)
	}
	if ignored != "" {
		return h.ignore(ctx, Result{Ignored: ignored}, "bucket", bucket, "key", key)
	}
	etag := strings.Trim(d.Object.ETag, `"`)
	if etag == "" {
		// Every Object Created event carries the ETag; the sequencer
		// orders the writes of one key, so it serves as well.
		etag = d.Object.Sequencer
	}
	if etag == "" {
		return Result{}, h.refuse(ctx, &InputError{Msg: fmt.Sprintf("key %q: the event has neither detail.object.etag nor sequencer", key)})
	}
	mode := ModeOf(e.id)
	return h.start(ctx, Record{
		MigrationID: e.migration,
		Export:      e.ref,
		Mode:        mode,
		Execution:   ExecutionName(e.migration, mode, bucket, key, etag),
		Source:      ByUpload,
		Bucket:      bucket,
		Key:         key,
		ETag:        etag,
	})
}

// schedule starts a delta run of the migration's newest export, unless a
// full or delta run of it was started already.
func (h *Handler) schedule(ctx context.Context, migration string) (Result, error) {
	if !migrationPattern.MatchString(migration) {
		return Result{}, h.refuse(ctx, &InputError{Msg: fmt.Sprintf("migration_id %q: use letters, digits, '.', '_' and '-' (up to 80), starting with a letter or digit", migration)})
	}
	newest, err := h.newestExport(ctx, migration)
	if err != nil {
		return Result{}, h.fail(ctx, err, "migration", migration)
	}
	if newest == nil {
		return h.ignore(ctx, Result{Ignored: NoNewExport, MigrationID: migration}, "migration", migration, "exports", 0)
	}
	picked, err := h.pickedUp(ctx, migration)
	if err != nil {
		return Result{}, h.fail(ctx, err, "migration", migration)
	}
	if by, ok := picked[newest.e.ref]; ok {
		return h.ignore(ctx, Result{Ignored: NoNewExport, MigrationID: migration, Export: newest.e.ref},
			"migration", migration, "export", newest.e.ref, "picked_up_by", by)
	}
	return h.start(ctx, Record{
		MigrationID: migration,
		Export:      newest.e.ref,
		Mode:        ModeDelta,
		Execution:   ExecutionName(migration, ModeDelta, h.Bucket, newest.e.key, newest.info.ETag),
		Source:      BySchedule,
		Bucket:      h.Bucket,
		Key:         newest.e.key,
		ETag:        newest.info.ETag,
	})
}

type found struct {
	e    export
	info blob.Info
}

// newestExport returns the migration's newest export, by the time its
// manifest.json (or .zip) was written, the greater key on a tie; nil when
// it has none.
func (h *Handler) newestExport(ctx context.Context, migration string) (*found, error) {
	infos, err := h.Store.List(ctx, "exports/"+migration+"/")
	if err != nil {
		return nil, &StoreError{Err: fmt.Errorf("list exports/%s/: %w", migration, err)}
	}
	var exports []found
	for _, info := range infos {
		e, ignored, err := parseKey(info.Key)
		if ignored != "" {
			continue
		}
		if err != nil {
			h.log().WarnContext(ctx, "export skipped", "migration", migration, "key", info.Key, "error", err.Error())
			continue
		}
		exports = append(exports, found{e: e, info: info})
	}
	if len(exports) == 0 {
		return nil, nil
	}
	sort.Slice(exports, func(i, j int) bool {
		a, b := exports[i].info, exports[j].info
		if !a.ModTime.Equal(b.ModTime) {
			return a.ModTime.After(b.ModTime)
		}
		return a.Key > b.Key
	})
	return &exports[0], nil
}

// pickedUp returns the exports of the migration that a full or delta run
// was started for, each with the execution that did. A plan or sample of
// an export does not count: the delta schedule still moves it.
func (h *Handler) pickedUp(ctx context.Context, migration string) (map[string]string, error) {
	prefix := "migrations/" + migration + "/triggers/"
	infos, err := h.Store.List(ctx, prefix)
	if err != nil {
		return nil, &StoreError{Err: fmt.Errorf("list %s: %w", prefix, err)}
	}
	picked := map[string]string{}
	for _, info := range infos {
		if !strings.HasSuffix(info.Key, ".json") {
			continue
		}
		data, err := h.Store.Get(ctx, info.Key)
		if errors.Is(err, blob.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, &StoreError{Err: fmt.Errorf("read %s: %w", info.Key, err)}
		}
		var rec Record
		if err := json.Unmarshal(data, &rec); err != nil {
			h.log().WarnContext(ctx, "trigger record unreadable", "key", info.Key, "error", err.Error())
			continue
		}
		if rec.Mode == ModeFull || rec.Mode == ModeDelta {
			picked[rec.Export] = rec.Execution
		}
	}
	return picked, nil
}

// start starts the execution rec describes, unless its record says it was
// started already, and records it.
func (h *Handler) start(ctx context.Context, rec Record) (Result, error) {
	res := Result{MigrationID: rec.MigrationID, Export: rec.Export, Mode: rec.Mode, Execution: rec.Execution}
	key := RecordKey(rec.MigrationID, rec.Execution)
	attrs := []any{"migration", rec.MigrationID, "export", rec.Export, "mode", rec.Mode, "execution", rec.Execution, "source", rec.Source, "key", rec.Key, "etag", rec.ETag}

	if data, err := h.Store.Get(ctx, key); err == nil {
		var prev Record
		if json.Unmarshal(data, &prev) == nil {
			res.ExecutionARN = prev.ExecutionARN
		}
		res.AlreadyStarted = true
		h.log().InfoContext(ctx, "execution already started", append(attrs, "record", key)...)
		return res, nil
	} else if !errors.Is(err, blob.ErrNotFound) {
		return Result{}, h.fail(ctx, &StoreError{Err: fmt.Errorf("read %s: %w", key, err)}, attrs...)
	}

	input, err := json.Marshal(Input{MigrationID: rec.MigrationID, Export: rec.Export, Mode: rec.Mode})
	if err != nil {
		return Result{}, err
	}
	out, err := h.SFN.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(h.StateMachineARN),
		Name:            aws.String(rec.Execution),
		Input:           aws.String(string(input)),
	})
	var exists *types.ExecutionAlreadyExists
	switch {
	case errors.As(err, &exists):
		res.AlreadyStarted = true
		res.ExecutionARN = executionARN(h.StateMachineARN, rec.Execution)
	case err != nil:
		return Result{}, h.fail(ctx, &StartError{Execution: rec.Execution, Err: err}, attrs...)
	default:
		res.ExecutionARN = aws.ToString(out.ExecutionArn)
	}

	rec.ExecutionARN, rec.AlreadyStarted, rec.RecordedAt = res.ExecutionARN, res.AlreadyStarted, h.now()
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return Result{}, err
	}
	if err := h.Store.Put(ctx, key, bytes.NewReader(append(data, '\n'))); err != nil {
		// The execution runs; a retry finds it (ExecutionAlreadyExists, or
		// the same execution back) and writes the record then.
		return Result{}, h.fail(ctx, &StoreError{Err: fmt.Errorf("record %s: %w", key, err)}, attrs...)
	}
	msg := "execution started"
	if res.AlreadyStarted {
		msg = "execution already started"
	}
	h.log().InfoContext(ctx, msg, append(attrs, "execution_arn", res.ExecutionARN, "record", key)...)
	return res, nil
}

// executionARN is the ARN of execution name of the state machine
// stateMachine: arn:aws:states:R:A:stateMachine:SM becomes
// arn:aws:states:R:A:execution:SM:name. It returns "" for an ARN of
// another shape.
func executionARN(stateMachine, name string) string {
	before, after, ok := strings.Cut(stateMachine, ":stateMachine:")
	if !ok {
		return ""
	}
	return before + ":execution:" + after + ":" + name
}

func (h *Handler) ignore(ctx context.Context, res Result, attrs ...any) (Result, error) {
	h.log().InfoContext(ctx, "event ignored", append([]any{"reason", res.Ignored}, attrs...)...)
	return res, nil
}

func (h *Handler) refuse(ctx context.Context, err error) error {
	h.log().WarnContext(ctx, "event refused", "error", err.Error())
	return err
}

func (h *Handler) fail(ctx context.Context, err error, attrs ...any) error {
	h.log().ErrorContext(ctx, "trigger failed", append(attrs, "error", err.Error())...)
	return err
}

func (h *Handler) now() time.Time {
	if h.Now == nil {
		return time.Now().UTC()
	}
	return h.Now().UTC()
}

func (h *Handler) log() *slog.Logger {
	if h.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Log
}
