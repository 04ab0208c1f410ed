//go:build linux

package lambdatest

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/conveyor-migrate/conveyor/internal/asl"
	"github.com/conveyor-migrate/conveyor/internal/blob"
	"github.com/conveyor-migrate/conveyor/internal/blob/blobtest"
	"github.com/conveyor-migrate/conveyor/internal/blob/s3blob"
	"github.com/conveyor-migrate/conveyor/internal/extract"
	"github.com/conveyor-migrate/conveyor/internal/ledger/dynamoledger"
	"github.com/conveyor-migrate/conveyor/internal/ledger/ledgertest"
	"github.com/conveyor-migrate/conveyor/internal/migrate"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive/contract"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive/sandbox"
	"github.com/conveyor-migrate/conveyor/internal/sampleexport"
	"github.com/conveyor-migrate/conveyor/internal/steps"
	"github.com/conveyor-migrate/conveyor/internal/trigger"
	"github.com/conveyor-migrate/conveyor/statemachine"
)

// The AWS Lambda Runtime Interface Emulator, built from its Go module.
// The module proxy serves this pseudo-version (its tags, v1.x, are not
// served); `go install pkg@version` leaves the project's go.mod alone.
const (
	riePackage = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"
	rieVersion = "v0.0.0-20261030222936-bef5c4ba774d"
)

// The functions this test builds and runs, by directory under functions/.
var functionDirs = []string{"extract", "schema", "load", "finish", "trigger"}

const (
	region    = "eu-west-2"
	migration = "firm"
	exportRef = "exports/firm/e1/"
	table     = "conveyor-ledger"
	// token is the Pipedrive API token, kept in the Secrets Manager
	// stand-in only; the functions' logs must never show it.
	token = "rie-pipedrive-token-7d41c0ffee93b2"
	// account is moto's default account.
	account = "123456789012"
)

// TestFunctionsUnderRIE builds the extract, schema, load, finish and
// trigger functions and runs them under the Runtime Interface Emulator,
// invoked over its HTTP API as the Lambda service invokes them, through
// one migration's first steps against the loopback stand-ins.
func TestFunctionsUnderRIE(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Lambda binaries and runs them under the Runtime Interface Emulator; not with -short")
	}
	if _, err := exec.LookPath(ledgertest.MotoCommand); err != nil {
		msg := ledgertest.MotoCommand + " (pip install 'moto[server]') is not on PATH: it stands in for DynamoDB, Secrets Manager and Step Functions"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg + " (set CI to make this fatal)")
	}
	started := time.Now()
	ctx := context.Background()
	work := t.TempDir()

	// Build while moto starts: the functions and the emulator.
	var (
		wg                 sync.WaitGroup
		buildErr, rieErr   error
		bootstraps         map[string]string
		rieBin             string
		buildDur, rieDur   time.Duration
		buildDir, rieGOBIN = filepath.Join(work, "functions"), filepath.Join(work, "rie")
	)
	wg.Add(2)
	go func() {
		defer wg.Done()
		t0 := time.Now()
		bootstraps, buildErr = buildFunctions(buildDir, functionDirs)
		buildDur = time.Since(t0)
	}()
	go func() {
		defer wg.Done()
		t0 := time.Now()
		rieBin, rieErr = buildRIE(rieGOBIN)
		rieDur = time.Since(t0)
	}()

	moto, err := ledgertest.StartDynamoDB()
	if err != nil {
		wg.Wait()
	}
	ledgertest.SkipWithoutDynamoDB(t, err)
	t.Cleanup(func() { moto.Close() })
	motoReady := time.Since(started)

	wg.Wait()
	if buildErr != nil {
		t.Fatalf("build the functions: %v", buildErr)
	}
	if rieErr != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("build the Runtime Interface Emulator (%s@%s), which needs the Go module proxy (set CI to make this fatal): %v", riePackage, rieVersion, rieErr)
		}
		t.Fatalf("build the Runtime Interface Emulator (%s@%s): %v", riePackage, rieVersion, rieErr)
	}
	t.Logf("moto ready after %v; functions built in %v, emulator in %v", motoReady.Round(time.Millisecond),
		buildDur.Round(time.Millisecond), rieDur.Round(time.Millisecond))

	// The stand-ins.
	s3c, bucket := blobtest.NewS3TestServer(t)
	s3URL := aws.ToString(s3c.Options().BaseEndpoint)
	store := s3blob.New(s3c, bucket, "")
	creds := credentials.NewStaticCredentialsProvider("test", "test", "")
	ddb := moto.Client()
	secrets := secretsmanager.New(secretsmanager.Options{Region: region, BaseEndpoint: aws.String(moto.URL), Credentials: creds})
	states := sfn.New(sfn.Options{Region: region, BaseEndpoint: aws.String(moto.URL), Credentials: creds})

	sb, err := sandbox.New(sandbox.Options{Plan: "ultimate", Seed: 1, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	var pdHandler http.Handler = sb
	if _, err := contract.SpecDir(); err == nil || os.Getenv("CI") != "" {
		// Every request the binaries send, and every answer, checked
		// against Pipedrive's OpenAPI documents, as the steps' tests do.
		pdHandler = contract.ForTest(t).Middleware(t, sb)
	} else {
		t.Logf("Pipedrive's OpenAPI documents not found: the sandbox's traffic is not checked against them (%v)", err)
	}
	pd := httptest.NewServer(pdHandler)
	t.Cleanup(pd.Close)

	if err := dynamoledger.CreateTable(ctx, ddb, table); err != nil {
		t.Fatal(err)
	}
	sec, err := secrets.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("conveyor/pipedrive-token"), SecretString: aws.String(token)})
	if err != nil {
		t.Fatalf("create the token secret: %v", err)
	}
	def, err := asl.Substitute(statemachine.Migrate, functionARNs())
	if err != nil {
		t.Fatal(err)
	}
	sm, err := states.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
		Name:       aws.String("conveyor-migrate"),
		Definition: aws.String(string(def)),
		RoleArn:    aws.String("arn:aws:iam::" + account + ":role/conveyor-migrate"),
	})
	if err != nil {
		t.Fatalf("create the state machine: %v", err)
	}

	// The export, uploaded as a firm would.
	exportDir := filepath.Join(work, "export")
	if _, err := sampleexport.Write(exportDir, sampleexport.Options{Matters: 8, Seed: 1, LargeDocuments: -1}); err != nil {
		t.Fatal(err)
	}
	uploadDir(t, store, exportDir, exportRef)
	forbidden := append(clientData(t, exportDir), token)

	// The functions' environment: what template.yaml gives them, the
	// stand-ins' endpoints through the variables the AWS SDK honours, and
	// nothing of this process's environment but PATH.
	home := filepath.Join(work, "home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}
	base := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"TMPDIR=" + os.TempDir(),
		"AWS_REGION=" + region,
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
		"AWS_CONFIG_FILE=" + filepath.Join(home, "no-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "no-aws-credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_ENDPOINT_URL_S3=" + s3URL,
		"AWS_ENDPOINT_URL_DYNAMODB=" + moto.URL,
		"AWS_ENDPOINT_URL_SECRETS_MANAGER=" + moto.URL,
		"AWS_ENDPOINT_URL_SFN=" + moto.URL,
		"AWS_LAMBDA_FUNCTION_TIMEOUT=60",
		"CONVEYOR_BUCKET=" + bucket,
	}
	stepEnv := append(slices.Clone(base),
		"CONVEYOR_TABLE="+table,
		"PIPEDRIVE_URL="+pd.URL,
		"PIPEDRIVE_TOKEN_SECRET="+aws.ToString(sec.ARN),
		"PIPEDRIVE_PLAN=ultimate",
		"PIPEDRIVE_SEATS=1",
		"DEFAULT_OWNER_EMAIL=", // the template's defaults: optional, empty
		"LEDGER_TTL_DAYS=90",
		"KMS_KEY_ID=",
	)
	triggerEnv := append(slices.Clone(base), "STATE_MACHINE_ARN="+aws.ToString(sm.StateMachineArn), "KMS_KEY_ID=")

	fns := map[string]*function{}
	for _, dir := range functionDirs {
		env := stepEnv
		if dir == "trigger" {
			env = triggerEnv
		}
		fns[dir] = startFunction(t, rieBin, dir, bootstraps[dir], env)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for name, f := range fns {
				t.Logf("== %s (under the emulator):\n%s", name, tail(f.logs.String(), 6000))
			}
		}
	})
	setup := time.Since(started)

	// extract: the export read, audited and staged.
	var ex steps.ExtractOutput
	invokeOK(t, fns["extract"], steps.Execution{MigrationID: migration, Export: exportRef, Mode: steps.ModeFull, Approved: true}, &ex)
	if !ex.Trusted || ex.Errors != 0 {
		t.Fatalf("extract: trusted %v, %d errors; want a trusted export", ex.Trusted, ex.Errors)
	}
	if want := extract.StagePrefix(migration) + extract.StageManifestName; ex.Manifest != want {
		t.Errorf("extract: manifest %q, want %q", ex.Manifest, want)
	}
	if len(ex.Chunks[extract.KindOrganisations]) == 0 || len(ex.Chunks[extract.KindMatters]) == 0 {
		t.Fatalf("extract: chunks %v; want organisations and matters", ex.Chunks)
	}
	if ex.Mode != steps.ModeFull || ex.SampleSize != 200 || ex.Concurrency != 1 {
		t.Errorf("extract: execution %+v; want the defaults filled in", ex.Execution)
	}
	mustExist(t, store, ex.Manifest)
	mustExist(t, store, ex.Audit)

	// schema: the custom fields created in the company.
	in := steps.StepInput{MigrationID: migration, Run: "r1", Manifest: ex.Manifest, Mode: steps.ModeFull}
	var sc migrate.SchemaOutput
	invokeOK(t, fns["schema"], in, &sc)
	fields := 0
	for _, fs := range sb.Snapshot().Fields {
		fields += len(fs)
	}
	if !sc.Applied || sc.Created == 0 || fields == 0 {
		t.Fatalf("schema: %+v, %d custom fields in the company; want fields created", sc, fields)
	}
	mustExist(t, store, sc.Schema)

	// load: organisations, chunk 0, written and in the ledger.
	var ld steps.LoadOutput
	invokeOK(t, fns["load"], steps.LoadInput{StepInput: in, Kind: migrate.LoadOrganisations, Source: extract.KindOrganisations, Chunk: 0}, &ld)
	if ld.Created == 0 || ld.Failed != 0 || ld.BudgetExhausted {
		t.Fatalf("load organisations/0: %+v; want organisations created", ld)
	}
	if orgs := len(sb.Snapshot().Items["organizations"]); orgs < ld.Created {
		t.Errorf("load: the company holds %d organisations, the step says it created %d", orgs, ld.Created)
	}
	mustExist(t, store, ld.Output)
	items := scanLedger(t, ddb)
	entries, expiring := 0, 0
	for _, it := range items {
		if _, ok := it["target_id"]; ok {
			entries++
		}
		if _, ok := it[dynamoledger.TTLAttribute]; ok {
			expiring++
		}
	}
	if entries < ld.Created {
		t.Errorf("ledger: %d entries with a target among %d items; want at least the %d created", entries, len(items), ld.Created)
	}
	if expiring == 0 {
		t.Errorf("ledger: no item has %s though LEDGER_TTL_DAYS is set", dynamoledger.TTLAttribute)
	}

	// finish: the run's summary.
	var fin steps.FinishOutput
	invokeOK(t, fns["finish"], steps.FinishInput{StepInput: in}, &fin)
	if fin.Summary != steps.SummaryKey(migration, "r1") || fin.Failed {
		t.Errorf("finish: %+v", fin)
	}
	var sum steps.Summary
	if err := json.Unmarshal(mustGet(t, store, fin.Summary), &sum); err != nil {
		t.Fatalf("summary: %v", err)
	}
	if k := sum.Kinds[migrate.LoadOrganisations]; k == nil || k.Created != ld.Created {
		t.Errorf("summary: organisations %+v; want %d created", k, ld.Created)
	}

	// Errors come back named by their Go type, as the definitions' Retry
	// and Catch match them: a bad input is not retried.
	retried := retriedErrors(t)
	for _, c := range []struct {
		fn        string
		payload   any
		typ, says string
	}{
		{"extract", steps.Execution{MigrationID: migration, Export: exportRef, Mode: "sideways"}, "InputError", "sideways"},
		{"load", steps.LoadInput{StepInput: in, Kind: "documents", Source: "matters"}, "InputError", "transfer"},
		{"trigger", map[string]string{"source": "aws.ec2"}, "InputError", "unknown event"},
		// aws-lambda-go decodes the input before the handler runs, so a
		// step input of the wrong shape is named by encoding/json (in
		// process, steps.adapt calls it an InputError); caught, not retried,
		// either way.
		{"schema", map[string]any{"migration_id": 5}, "UnmarshalTypeError", "migration_id"},
	} {
		wantError(t, fns[c.fn], c.payload, c.typ, c.says)
		if retried[c.typ] {
			t.Errorf("%s is retried by the migration definition; a bad input should not be", c.typ)
		}
	}

	// trigger: the export's manifest.json uploaded starts the state machine.
	head, err := s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(exportRef + "manifest.json")})
	if err != nil {
		t.Fatal(err)
	}
	event := objectCreatedEvent(t, bucket, exportRef+"manifest.json", aws.ToString(head.ETag))
	var tr trigger.Result
	invokeOK(t, fns["trigger"], event, &tr)
	if tr.Execution == "" || tr.ExecutionARN == "" || tr.AlreadyStarted || tr.Ignored != "" {
		t.Fatalf("trigger: %+v; want an execution started", tr)
	}
	if tr.MigrationID != migration || tr.Export != exportRef || tr.Mode != trigger.ModePlan {
		t.Errorf("trigger: %+v; want a plan of %s", tr, exportRef)
	}
	mustExist(t, store, trigger.RecordKey(migration, tr.Execution))
	var again trigger.Result
	invokeOK(t, fns["trigger"], event, &again)
	if !again.AlreadyStarted || again.ExecutionARN != tr.ExecutionARN {
		t.Errorf("trigger, the same event again: %+v; want the same execution, already started", again)
	}
	execs, err := states.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: sm.StateMachineArn})
	if err != nil {
		t.Fatal(err)
	}
	if len(execs.Executions) != 1 || aws.ToString(execs.Executions[0].Name) != tr.Execution {
		t.Fatalf("Step Functions holds %d executions; want the one named %s", len(execs.Executions), tr.Execution)
	}
	desc, err := states.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: execs.Executions[0].ExecutionArn})
	if err != nil {
		t.Fatal(err)
	}
	var input trigger.Input
	if err := json.Unmarshal([]byte(aws.ToString(desc.Input)), &input); err != nil || input != (trigger.Input{MigrationID: migration, Export: exportRef, Mode: trigger.ModePlan}) {
		t.Errorf("execution input %s (%v)", aws.ToString(desc.Input), err)
	}

	// Deployments gone wrong. A function without its bucket fails its
	// init and says what is missing.
	unconfigured := without(base, "CONVEYOR_BUCKET")
	bare := startFunction(t, rieBin, "extract-unconfigured", bootstraps["extract"], unconfigured)
	fns[bare.name] = bare
	status, body := bare.invoke(t, steps.Execution{MigrationID: migration, Export: exportRef})
	if status == http.StatusOK {
		t.Errorf("extract without CONVEYOR_BUCKET: status %d, %s; want a failed init", status, body)
	}
	waitForLog(t, bare, "CONVEYOR_BUCKET is not set")
	// An unreadable token secret is the deployment's configuration: not
	// retried.
	noSecret := append(without(stepEnv, "PIPEDRIVE_TOKEN_SECRET"),
		"PIPEDRIVE_TOKEN_SECRET=arn:aws:secretsmanager:"+region+":"+account+":secret:conveyor/no-such-secret-AbCdEf")
	fns["schema-no-secret"] = startFunction(t, rieBin, "schema-no-secret", bootstraps["schema"], noSecret)
	wantError(t, fns["schema-no-secret"], in, "ConfigError", "token")
	// A bucket that cannot be read is a StoreError: retried.
	noBucket := append(without(stepEnv, "CONVEYOR_BUCKET"), "CONVEYOR_BUCKET=conveyor-no-such-bucket")
	fns["finish-no-bucket"] = startFunction(t, rieBin, "finish-no-bucket", bootstraps["finish"], noBucket)
	wantError(t, fns["finish-no-bucket"], steps.FinishInput{StepInput: in}, "StoreError", "")
	if !retried["StoreError"] || retried["ConfigError"] {
		t.Errorf("the migration definition retries %v; want StoreError retried and ConfigError not", retried)
	}

	// The logs: the functions did log, and never client data or the token.
	logged, size := map[string]string{}, 0
	for name, f := range fns {
		logged[name] = f.logs.String()
		size += len(logged[name])
	}
	for dir, want := range map[string]string{"extract": `"msg":"extract"`, "schema": `"msg":"schema"`, "load": `"msg":"load"`, "finish": `"msg":"run finished"`, "trigger": `"msg":"execution started"`} {
		if !strings.Contains(logged[dir], want) {
			t.Errorf("%s logged no %s: the check below would see nothing", dir, want)
		}
	}
	for dir, logs := range logged {
		for _, s := range forbidden {
			if strings.Contains(strings.ToLower(logs), strings.ToLower(s)) {
				t.Errorf("%s's logs contain %q (client data or the token)", dir, s)
			}
		}
	}
	t.Logf("%d values of client data and the token checked against %d bytes of logs; setup %v, total %v",
		len(forbidden), size, setup.Round(time.Millisecond), time.Since(started).Round(time.Millisecond))
}

// retriedErrors are the error names the migration definition's Retry
// fields match.
func retriedErrors(t *testing.T) map[string]bool {
	t.Helper()
	var def any
	if err := json.Unmarshal(statemachine.Migrate, &def); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if rs, ok := v["Retry"].([]any); ok {
				for _, r := range rs {
					for _, e := range r.(map[string]any)["ErrorEquals"].([]any) {
						names[e.(string)] = true
					}
				}
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(def)
	if len(names) == 0 {
		t.Fatal("the migration definition retries nothing")
	}
	return names
}

// without returns env less the variable name.
func without(env []string, name string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool { return strings.HasPrefix(kv, name+"=") })
}

// functionARNs are the migration definition's ${<LogicalId>Arn}
// substitutions, as SAM makes them.
func functionARNs() map[string]string {
	m := map[string]string{}
	for _, f := range steps.Functions {
		m[f.LogicalID+"Arn"] = "arn:aws:lambda:" + region + ":" + account + ":function:conveyor-" + f.Dir
	}
	return m
}

// buildFunctions builds each of dirs (under functions/) as the Makefile's
// LAMBDA_BUILD does, but for the host's architecture, into
// out/<dir>/bootstrap, with one go command.
func buildFunctions(out string, dirs []string) (map[string]string, error) {
	bin := filepath.Join(out, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return nil, err
	}
	args := []string{"build", "-trimpath", "-tags", "lambda.norpc", "-ldflags=-s -w", "-o", bin + string(filepath.Separator)}
	for _, d := range dirs {
		args = append(args, "github.com/conveyor-migrate/conveyor/functions/"+d)
	}
	cmd := exec.Command(goCommand(), args...)
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+runtime.GOARCH, "CGO_ENABLED=0")
	if outb, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, outb)
	}
	paths := map[string]string{}
	for _, d := range dirs {
		p := filepath.Join(out, d, "bootstrap")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.Rename(filepath.Join(bin, d), p); err != nil {
			return nil, err
		}
		paths[d] = p
	}
	return paths, nil
}

// buildRIE installs the emulator at rieVersion into gobin, outside the
// project's module.
func buildRIE(gobin string) (string, error) {
	if err := os.MkdirAll(gobin, 0o755); err != nil {
		return "", err
	}
	cmd := exec.Command(goCommand(), "install", riePackage+"@"+rieVersion)
	cmd.Dir = gobin
	cmd.Env = append(os.Environ(), "GOBIN="+gobin, "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH, "CGO_ENABLED=0", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install %s@%s: %v\n%s", riePackage, rieVersion, err, out)
	}
	return filepath.Join(gobin, "aws-lambda-rie"), nil
}

// goCommand is the go command: `go test` puts its GOROOT's bin first on PATH.
func goCommand() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(os.Getenv("GOROOT"), "bin", "go")
}

// function is one function's bootstrap running under its own emulator.
type function struct {
	name string
	url  string
	logs *syncBuffer
}

// startFunction starts the emulator for bootstrap on loopback ports, the
// Runtime API on another, with env as the function's whole environment
// (the emulator passes its own to the function). The emulator starts the
// bootstrap on the first invocation and keeps it for the next ones, as
// Lambda keeps a warm execution environment.
func startFunction(t *testing.T, rieBin, name, bootstrap string, env []string) *function {
	t.Helper()
	var lastErr error
	for range 3 { // a port picked free may be taken before the emulator binds it
		f, err := tryStartFunction(t, rieBin, name, bootstrap, env)
		if err == nil {
			return f
		}
		lastErr = err
	}
	t.Fatalf("start %s under the emulator: %v", name, lastErr)
	return nil
}

func tryStartFunction(t *testing.T, rieBin, name, bootstrap string, env []string) (*function, error) {
	addrs := freeAddrs(t, 2)
	addr, api := addrs[0], addrs[1]
	f := &function{name: name, url: "http://" + addr + "/2015-03-31/functions/function/invocations", logs: &syncBuffer{}}
	cmd := exec.Command(rieBin, "--runtime-interface-emulator-address", addr, "--runtime-api-address", api, bootstrap)
	cmd.Dir = filepath.Dir(bootstrap)
	cmd.Env = append(slices.Clone(env), "AWS_LAMBDA_FUNCTION_NAME=conveyor-"+name)
	cmd.Stdout, cmd.Stderr = f.logs, f.logs
	// Its own process group, so that the bootstrap it starts is stopped
	// with it; killed by the kernel if the test binary dies first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	stop := func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			t.Cleanup(stop)
			return f, nil
		}
		select {
		case <-done:
			return nil, fmt.Errorf("the emulator exited: %s", tail(f.logs.String(), 2000))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("the emulator did not listen on %s within 10s: %s", addr, tail(f.logs.String(), 2000))
		}
	}
}

var invokeClient = &http.Client{Timeout: 90 * time.Second}

// invoke posts payload to the emulator's Invoke API and returns the status
// and body.
func (f *function) invoke(t *testing.T, payload any) (int, []byte) {
	t.Helper()
	raw, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	resp, err := invokeClient.Post(f.url, "application/json", bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("invoke %s: %v", f.name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("invoke %s: read the answer: %v", f.name, err)
	}
	t.Logf("invoke %s: %d in %v", f.name, resp.StatusCode, time.Since(t0).Round(time.Millisecond))
	return resp.StatusCode, body
}

// lambdaError is the payload aws-lambda-go posts to the Runtime API's
// /error, which the Invoke API answers with.
type lambdaError struct {
	Type    string `json:"errorType"`
	Message string `json:"errorMessage"`
}

// invokeOK invokes f and decodes its result into out; it fails the test
// on an error payload.
func invokeOK(t *testing.T, f *function, payload, out any) {
	t.Helper()
	status, body := f.invoke(t, payload)
	var le lambdaError
	if status != http.StatusOK || (json.Unmarshal(body, &le) == nil && le.Type != "") {
		t.Fatalf("invoke %s: status %d, %s", f.name, status, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		t.Fatalf("invoke %s: %v: %s", f.name, err, body)
	}
}

// wantError invokes f and checks that the handler's error came back as
// errorType typ, its message mentioning msg.
func wantError(t *testing.T, f *function, payload any, typ, msg string) {
	t.Helper()
	status, body := f.invoke(t, payload)
	var le lambdaError
	if err := json.Unmarshal(body, &le); err != nil || le.Type != typ || !strings.Contains(le.Message, msg) {
		t.Errorf("invoke %s with %v: status %d, %s; want errorType %q mentioning %q", f.name, payload, status, body, typ, msg)
	}
}

func waitForLog(t *testing.T, f *function, s string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(f.logs.String(), s) {
		if time.Now().After(deadline) {
			t.Errorf("%s's logs do not say %q: %s", f.name, s, tail(f.logs.String(), 2000))
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// freeAddrs returns n distinct loopback addresses free a moment ago.
func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	var addrs []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		addrs = append(addrs, "127.0.0.1:"+strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
	}
	return addrs
}

// uploadDir puts every file under dir into store under prefix.
func uploadDir(t *testing.T, store blob.Store, dir, prefix string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return store.Put(context.Background(), prefix+filepath.ToSlash(rel), f)
	})
	if err != nil {
		t.Fatalf("upload the export: %v", err)
	}
}

// clientData returns values of the export that no log may carry: the
// clients' and referrers' emails and full names, and the organisations'
// names.
func clientData(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	read := func(file string, pick func(row map[string]string) []string) {
		f, err := os.Open(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		rows, err := csv.NewReader(f).ReadAll()
		if err != nil || len(rows) < 2 {
			t.Fatalf("%s: %d rows, %v", file, len(rows), err)
		}
		for _, r := range rows[1:] {
			row := map[string]string{}
			for i, h := range rows[0] {
				row[h] = r[i]
			}
			for _, v := range pick(row) {
				if v = strings.TrimSpace(v); len(v) > 3 {
					out = append(out, v)
				}
			}
		}
	}
	person := func(row map[string]string) []string {
		return []string{row["email"], row["first_name"] + " " + row["last_name"]}
	}
	read("clients.csv", person)
	read("referrers.csv", person)
	read("organisations.csv", func(row map[string]string) []string { return []string{row["name"]} })
	if len(out) < 10 {
		t.Fatalf("only %d values of client data found in the export", len(out))
	}
	return out
}

// objectCreatedEvent is events/s3-object-created.json for key in bucket.
func objectCreatedEvent(t *testing.T, bucket, key, etag string) json.RawMessage {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "events", "s3-object-created.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	ev["resources"] = []string{"arn:aws:s3:::" + bucket}
	detail := ev["detail"].(map[string]any)
	detail["bucket"] = map[string]any{"name": bucket}
	obj := detail["object"].(map[string]any)
	obj["key"], obj["etag"] = key, strings.Trim(etag, `"`)
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func scanLedger(t *testing.T, ddb *dynamodb.Client) []map[string]types.AttributeValue {
	t.Helper()
	var items []map[string]types.AttributeValue
	p := dynamodb.NewScanPaginator(ddb, &dynamodb.ScanInput{TableName: aws.String(table)})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("scan the ledger: %v", err)
		}
		items = append(items, out.Items...)
	}
	return items
}

func mustExist(t *testing.T, store blob.Store, key string) {
	t.Helper()
	if key == "" {
		t.Errorf("an empty key where an object was expected")
		return
	}
	if _, err := store.Stat(context.Background(), key); err != nil {
		t.Errorf("%s: %v", key, err)
	}
}

func mustGet(t *testing.T, store blob.Store, key string) []byte {
	t.Helper()
	data, err := store.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	return data
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// syncBuffer collects an emulator's output (its own and the function's).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
