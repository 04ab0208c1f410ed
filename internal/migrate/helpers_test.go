package migrate

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/blob/memblob"
	"github.com/conveyor-migrate/conveyor/internal/clock"
	"github.com/conveyor-migrate/conveyor/internal/extract"
	"github.com/conveyor-migrate/conveyor/internal/ledger"
	"github.com/conveyor-migrate/conveyor/internal/ledger/memledger"
	"github.com/conveyor-migrate/conveyor/internal/mapping"
	pp "github.com/conveyor-migrate/conveyor/internal/perfectportal"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive/contract"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive/sandbox"
	"github.com/conveyor-migrate/conveyor/internal/sampleexport"
)

const (
	testMigration = "m1"
	testToken     = "tok-migrate-test-SECRET"
)

var epoch = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// testEnv is an Env on a sandbox company (its traffic checked against
// Pipedrive's documents both ways), a memory store holding a staged sample
// export, and a memory ledger, all on one virtual clock.
type testEnv struct {
	*Env
	sb       *sandbox.Sandbox
	srv      *httptest.Server
	httpc    *http.Client
	manifest string
	store    *memblob.Store
	ledger   *memledger.Store
}

type envOptions struct {
	plan    string
	seed    int64
	cfg     *mapping.Config
	matters int
}

func newTestEnv(t testing.TB, o envOptions) *testEnv {
	t.Helper()
	if o.plan == "" {
		o.plan = "growth"
	}
	if o.matters == 0 {
		o.matters = 20
	}
	if o.cfg == nil {
		o.cfg = mapping.Default()
	}
	v := contract.ForTest(t)
	vc := clock.NewVirtual(epoch)
	sb, err := sandbox.New(sandbox.Options{Plan: o.plan, Seed: o.seed, Token: testToken, Now: vc.Now})
	if err != nil {
		t.Fatalf("sandbox.New: %v", err)
	}
	srv := httptest.NewServer(v.Middleware(t, sb))
	t.Cleanup(srv.Close)
	httpc := &http.Client{Transport: v.Transport(t, http.DefaultTransport), Timeout: 10 * time.Second}
	c, err := pipedrive.New(pipedrive.Config{BaseURL: srv.URL, Token: testToken, Plan: o.plan,
		HTTPClient: httpc, Now: vc.Now, Sleep: vc.Sleep})
	if err != nil {
		t.Fatalf("pipedrive.New: %v", err)
	}
	store := memblob.New()
	led := memledger.New()
	manifest := stageSample(t, store, o.cfg, o.matters)
	return &testEnv{
		Env: &Env{Store: store, Ledger: led, Pipedrive: c, Config: o.cfg, Now: vc.Now},
		sb:  sb, srv: srv, httpc: httpc, manifest: manifest, store: store, ledger: led,
	}
}

// stageSample writes a clean sample export and stages it in store.
func stageSample(t testing.TB, store *memblob.Store, cfg *mapping.Config, matters int) string {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "export")
	if _, err := sampleexport.Write(dir, sampleexport.Options{Matters: matters, Seed: 1, LargeDocuments: -1}); err != nil {
		t.Fatalf("sampleexport.Write: %v", err)
	}
	b, err := pp.Open(ctx, dir)
	if err != nil {
		t.Fatalf("open bundle: %v", err)
	}
	defer b.Close()
	prefix := extract.StagePrefix(testMigration)
	if _, err := extract.Run(ctx, b, extract.Options{Config: cfg, Stage: store, StagePrefix: prefix}); err != nil {
		t.Fatalf("extract.Run: %v", err)
	}
	return prefix + extract.StageManifestName
}

func mustConfig(t *testing.T, yaml string) *mapping.Config {
	t.Helper()
	cfg, err := mapping.Parse("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatalf("mapping.Parse: %v", err)
	}
	return cfg
}

// stagedMatters reads the staged matters back.
func (e *testEnv) stagedMatters(t *testing.T) []extract.MatterRecord {
	t.Helper()
	st, err := openStaged(context.Background(), e.store, e.manifest)
	if err != nil {
		t.Fatal(err)
	}
	var out []extract.MatterRecord
	if err := st.eachMatter(context.Background(), func(r *extract.MatterRecord) error {
		out = append(out, *r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// stagedFeeEarners reads the staged fee earners back.
func (e *testEnv) stagedFeeEarners(t *testing.T) []pp.FeeEarner {
	t.Helper()
	st, err := openStaged(context.Background(), e.store, e.manifest)
	if err != nil {
		t.Fatal(err)
	}
	var out []pp.FeeEarner
	if err := st.eachFeeEarner(context.Background(), func(fe *pp.FeeEarner) error {
		out = append(out, *fe)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// addUser adds a Pipedrive user through the API (the client has no call for it).
func (e *testEnv) addUser(t *testing.T, email string, active bool) int {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"email": email, "active_flag": active})
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/v1/users", bytes.NewReader(body))
	req.Header.Set("x-api-token", testToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.httpc.Do(req)
	if err != nil {
		t.Fatalf("add user: %v", err)
	}
	defer resp.Body.Close()
	var out struct {
		Data struct {
			ID int `json:"id"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("add user: status %d, %v", resp.StatusCode, err)
	}
	return out.Data.ID
}

func (e *testEnv) getJSON(t *testing.T, key string, v any) []byte {
	t.Helper()
	data, err := e.store.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	if v != nil {
		if err := json.Unmarshal(data, v); err != nil {
			t.Fatalf("decode %s: %v", key, err)
		}
	}
	return data
}

// entries lists the migration's ledger entries, newest first.
func (e *testEnv) entries(t testing.TB) []ledger.Entry {
	t.Helper()
	var out []ledger.Entry
	if err := e.ledger.List(context.Background(), testMigration, func(en ledger.Entry) error {
		out = append(out, en)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// writes counts the requests that were not GETs, from the sandbox meter.
func writes(m sandbox.Meter) map[string]int {
	out := map[string]int{}
	for ep, n := range m.TokensByEndpoint {
		if len(ep) < 4 || ep[:4] != "GET " {
			out[ep] += n
		}
	}
	return out
}

// loadOrder is every load step of a full run, in the state machine's order:
// client organisations, referrers' firms, clients, referrers, then the
// matters' deals, activities and notes, and documents.
var loadOrder = []struct{ kind, source string }{
	{LoadOrganisations, extract.KindOrganisations}, {LoadOrganisations, extract.KindReferrers},
	{LoadPersons, extract.KindClients}, {LoadPersons, extract.KindReferrers},
	{LoadDeals, extract.KindMatters}, {LoadActivities, extract.KindMatters}, {LoadDocuments, extract.KindMatters},
}

// runLoad runs the load step in's kind names, as the steps package does.
func runLoad(ctx context.Context, e *Env, in LoadInput, bundle *pp.Bundle) (LoadOutput, error) {
	switch in.Kind {
	case LoadOrganisations, LoadPersons:
		return e.LoadPeople(ctx, in)
	case LoadDeals:
		return e.LoadDeals(ctx, in)
	case LoadActivities:
		return e.LoadActivities(ctx, in)
	default:
		return e.LoadDocuments(ctx, in, bundle)
	}
}
