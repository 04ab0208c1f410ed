// Package ledgertest holds what every ledger.Store implementation is tested
// with: the conformance suite that states the Store contract in code, and a
// benchmark of the write path (Begin, then the commit).
package ledgertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/ledger"
)

// RunConformanceTests checks that stores made by newStore keep the contract
// documented on ledger.Store, each check in its own subtest. newStore is
// called once per subtest and must return an empty store; it should
// register its own clean-up (including Close) with t.Cleanup.
func RunConformanceTests(t *testing.T, newStore func(t *testing.T) ledger.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s ledger.Store)
	}{
		{"BeginPending", testBeginPending},
		{"BeginKeepsGivenTimes", testBeginKeepsGivenTimes},
		{"BeginExisting", testBeginExisting},
		{"BeginInvalid", testBeginInvalid},
		{"SeqPerMigration", testSeqPerMigration},
		{"GetNotFound", testGetNotFound},
		{"UpdateTransitions", testUpdateTransitions},
		{"UpdateWrongFrom", testUpdateWrongFrom},
		{"UpdateNotFound", testUpdateNotFound},
		{"UpdateKeepsSeqAndCreatedAt", testUpdateKeepsSeqAndCreatedAt},
		{"UpdateInvalid", testUpdateInvalid},
		{"RoundTrip", testRoundTrip},
		{"PreviousByteForByte", testPreviousByteForByte},
		{"ExpiresAt", testExpiresAt},
		{"StoredCopies", testStoredCopies},
		{"ListNewestFirst", testListNewestFirst},
		{"ListEmpty", testListEmpty},
		{"ListLarge", testListLarge},
		{"ListStopsOnError", testListStopsOnError},
		{"ListCallbackMayWrite", testListCallbackMayWrite},
		{"ListBefore", testListBefore},
		{"ListBeforeResumes", testListBeforeResumes},
		{"Meta", testMeta},
		{"MetaSeparateFromEntries", testMetaSeparateFromEntries},
		{"ConcurrentBeginSameKey", testConcurrentBeginSameKey},
		{"ConcurrentUpdateSameEntry", testConcurrentUpdateSameEntry},
		{"ConcurrentBeginManyKeys", testConcurrentBeginManyKeys},
		{"CancelledContext", testCancelledContext},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newStore(t))
		})
	}
}

// entry returns a pending create for key in migration, as the load step
// would begin it.
func entry(migration, key string) ledger.Entry {
	return ledger.Entry{
		Migration:   migration,
		Key:         key,
		Run:         "run-1",
		SourceKind:  "client",
		SourceID:    key,
		TargetKind:  "person",
		Op:          ledger.OpCreate,
		PayloadHash: "sha256:0f1e2d",
	}
}

func mustBegin(t testing.TB, s ledger.Store, e ledger.Entry) ledger.Entry {
	t.Helper()
	got, err := s.Begin(context.Background(), e)
	if err != nil {
		t.Fatalf("Begin(%s/%s): %v", e.Migration, e.Key, err)
	}
	return got
}

func mustGet(t testing.TB, s ledger.Store, migration, key string) ledger.Entry {
	t.Helper()
	got, err := s.Get(context.Background(), migration, key)
	if err != nil {
		t.Fatalf("Get(%s/%s): %v", migration, key, err)
	}
	return got
}

func mustUpdate(t testing.TB, s ledger.Store, from ledger.Status, e ledger.Entry) {
	t.Helper()
	if err := s.Update(context.Background(), from, e); err != nil {
		t.Fatalf("Update(%s, %s/%s → %s): %v", from, e.Migration, e.Key, e.Status, err)
	}
}

func listAll(t testing.TB, s ledger.Store, migration string) []ledger.Entry {
	t.Helper()
	var got []ledger.Entry
	if err := s.List(context.Background(), migration, func(e ledger.Entry) error {
		got = append(got, e)
		return nil
	}); err != nil {
		t.Fatalf("List(%s): %v", migration, err)
	}
	return got
}

// equal reports whether two entries hold the same values, comparing times
// as instants and Previous as bytes.
func equal(a, b ledger.Entry) bool {
	if !a.CreatedAt.Equal(b.CreatedAt) || !a.UpdatedAt.Equal(b.UpdatedAt) || !a.ExpiresAt.Equal(b.ExpiresAt) {
		return false
	}
	if string(a.Previous) != string(b.Previous) {
		return false
	}
	a.CreatedAt, a.UpdatedAt, a.ExpiresAt, a.Previous = time.Time{}, time.Time{}, time.Time{}, nil
	b.CreatedAt, b.UpdatedAt, b.ExpiresAt, b.Previous = time.Time{}, time.Time{}, time.Time{}, nil
	return reflect.DeepEqual(a, b)
}

func checkEqual(t testing.TB, what string, got, want ledger.Entry) {
	t.Helper()
	if !equal(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

// commit returns e as the load step commits it after Pipedrive answered.
func commit(e ledger.Entry, targetID int64) ledger.Entry {
	e.Status = ledger.StatusWritten
	e.TargetID = targetID
	e.TargetUpdateTime = "2026-03-01T10:00:00Z"
	return e
}

func testBeginPending(t *testing.T, s ledger.Store) {
	before := time.Now().Add(-time.Second)
	in := entry("m1", "client/C000001")
	in.Status = ledger.StatusWritten // Begin records pending whatever it is given
	got := mustBegin(t, s, in)
	after := time.Now().Add(time.Second)

	if got.Status != ledger.StatusPending {
		t.Errorf("Status = %q, want %q", got.Status, ledger.StatusPending)
	}
	if got.Seq <= 0 {
		t.Errorf("Seq = %d, want > 0", got.Seq)
	}
	for name, ts := range map[string]time.Time{"CreatedAt": got.CreatedAt, "UpdatedAt": got.UpdatedAt} {
		if ts.Before(before) || ts.After(after) {
			t.Errorf("%s = %v, want between %v and %v", name, ts, before, after)
		}
	}
	want := in
	want.Status, want.Seq, want.CreatedAt, want.UpdatedAt = ledger.StatusPending, got.Seq, got.CreatedAt, got.UpdatedAt
	checkEqual(t, "Begin returned", got, want)
	checkEqual(t, "Get after Begin", mustGet(t, s, "m1", "client/C000001"), want)
}

func testBeginKeepsGivenTimes(t *testing.T, s ledger.Store) {
	created := time.Date(2026, 2, 3, 4, 5, 6, 789000000, time.UTC)
	in := entry("m1", "client/C1")
	in.CreatedAt, in.UpdatedAt = created, created.Add(time.Minute)
	got := mustBegin(t, s, in)
	if !got.CreatedAt.Equal(in.CreatedAt) || !got.UpdatedAt.Equal(in.UpdatedAt) {
		t.Errorf("times = %v, %v; want the given %v, %v", got.CreatedAt, got.UpdatedAt, in.CreatedAt, in.UpdatedAt)
	}
	stored := mustGet(t, s, "m1", "client/C1")
	if !stored.CreatedAt.Equal(in.CreatedAt) || !stored.UpdatedAt.Equal(in.UpdatedAt) {
		t.Errorf("stored times = %v, %v; want %v, %v", stored.CreatedAt, stored.UpdatedAt, in.CreatedAt, in.UpdatedAt)
	}
}

func testBeginExisting(t *testing.T, s ledger.Store) {
	ctx := context.Background()
	first := mustBegin(t, s, entry("m1", "client/C1"))
	committed := commit(first, 42)
	mustUpdate(t, s, ledger.StatusPending, committed)
	stored := mustGet(t, s, "m1", "client/C1")

	again := entry("m1", "client/C1")
	again.Run, again.PayloadHash = "run-2", "sha256:different"
	got, err := s.Begin(ctx, again)
	if !errors.Is(err, ledger.ErrExists) {
		t.Fatalf("second Begin: err = %v, want ErrExists", err)
	}
	checkEqual(t, "second Begin returned", got, stored)
	checkEqual(t, "Get after second Begin", mustGet(t, s, "m1", "client/C1"), stored)

	// The failed Begin took no visible Seq: the next entry lists after.
	next := mustBegin(t, s, entry("m1", "client/C2"))
	if next.Seq <= first.Seq {
		t.Errorf("next Seq = %d, want > %d", next.Seq, first.Seq)
	}
	if n := len(listAll(t, s, "m1")); n != 2 {
		t.Errorf("List has %d entries, want 2", n)
	}
}

func testBeginInvalid(t *testing.T, s ledger.Store) {
	long := make([]byte, 1001)
	for i := range long {
		long[i] = 'k'
	}
	tests := []struct {
		name string
		edit func(*ledger.Entry)
	}{
		{"empty migration", func(e *ledger.Entry) { e.Migration = "" }},
		{"empty key", func(e *ledger.Entry) { e.Key = "" }},
		{"reserved key", func(e *ledger.Entry) { e.Key = "#seq" }},
		{"key too long", func(e *ledger.Entry) { e.Key = string(long) }},
		{"key not UTF-8", func(e *ledger.Entry) { e.Key = "client/\xff" }},
		{"previous not JSON", func(e *ledger.Entry) { e.Previous = json.RawMessage(`{"name":`) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := entry("m1", "client/C1")
			tc.edit(&e)
			_, err := s.Begin(context.Background(), e)
			if err == nil || errors.Is(err, ledger.ErrExists) {
				t.Errorf("Begin: err = %v, want a validation error", err)
			}
		})
	}
	if got := listAll(t, s, "m1"); len(got) != 0 {
		t.Errorf("List after invalid Begins = %d entries, want none", len(got))
	}
}

func testSeqPerMigration(t *testing.T, s ledger.Store) {
	last := map[string]int64{}
	for i := range 30 {
		// Interleave two migrations: each has its own sequence.
		m := []string{"m1", "m2"}[i%2]
		e := mustBegin(t, s, entry(m, fmt.Sprintf("client/C%d", i)))
		if e.Seq <= last[m] {
			t.Fatalf("%s: Seq %d after %d, want strictly increasing", m, e.Seq, last[m])
		}
		last[m] = e.Seq
	}
	// Independent: m3's first entry does not continue the others' counts.
	if e := mustBegin(t, s, entry("m3", "client/C0")); e.Seq > 1 {
		t.Errorf("first Seq of a new migration = %d, want 1 (or less)", e.Seq)
	}
}

func testGetNotFound(t *testing.T, s ledger.Store) {
	mustBegin(t, s, entry("m1", "client/C1"))
	tests := []struct{ name, migration, key string }{
		{"missing key", "m1", "client/C2"},
		{"missing migration", "m2", "client/C1"},
		{"key prefix", "m1", "client/C"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Get(context.Background(), tc.migration, tc.key)
			if !errors.Is(err, ledger.ErrNotFound) {
				t.Errorf("Get(%s/%s): err = %v, want ErrNotFound", tc.migration, tc.key, err)
			}
		})
	}
}

func testUpdateTransitions(t *testing.T, s ledger.Store) {
	tests := []struct {
		name string
		path []ledger.Status // statuses after Begin's pending, in order
	}{
		{"commit then roll back", []ledger.Status{ledger.StatusWritten, ledger.StatusRolledBack}},
		{"abandon", []ledger.Status{ledger.StatusAbandoned}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := mustBegin(t, s, entry("m1", tc.name))
			from := ledger.StatusPending
			for i, to := range tc.path {
				e.Status = to
				e.TargetID = int64(100 + i)
				mustUpdate(t, s, from, e)
				got := mustGet(t, s, "m1", tc.name)
				if got.Status != to || got.TargetID != e.TargetID {
					t.Errorf("after %s → %s: status %s, target %d; want %s, %d", from, to, got.Status, got.TargetID, to, e.TargetID)
				}
				if got.UpdatedAt.Before(e.UpdatedAt) {
					t.Errorf("after %s → %s: UpdatedAt %v went back from %v", from, to, got.UpdatedAt, e.UpdatedAt)
				}
				e, from = got, to
			}
		})
	}
}

func testUpdateWrongFrom(t *testing.T, s ledger.Store) {
	ctx := context.Background()
	e := mustBegin(t, s, entry("m1", "client/C1"))
	mustUpdate(t, s, ledger.StatusPending, commit(e, 7))
	want := mustGet(t, s, "m1", "client/C1")
	for _, from := range []ledger.Status{ledger.StatusPending, ledger.StatusRolledBack, ledger.StatusAbandoned} {
		change := want
		change.Status, change.TargetID = ledger.StatusAbandoned, 99
		if err := s.Update(ctx, from, change); !errors.Is(err, ledger.ErrConflict) {
			t.Errorf("Update from %s of a written entry: err = %v, want ErrConflict", from, err)
		}
	}
	checkEqual(t, "entry after refused Updates", mustGet(t, s, "m1", "client/C1"), want)
}

func testUpdateNotFound(t *testing.T, s ledger.Store) {
	mustBegin(t, s, entry("m1", "client/C1"))
	for _, e := range []ledger.Entry{entry("m1", "client/C2"), entry("m2", "client/C1")} {
		e.Status = ledger.StatusWritten
		err := s.Update(context.Background(), ledger.StatusPending, e)
		if !errors.Is(err, ledger.ErrNotFound) {
			t.Errorf("Update(%s/%s): err = %v, want ErrNotFound", e.Migration, e.Key, err)
		}
		if _, err := s.Get(context.Background(), e.Migration, e.Key); !errors.Is(err, ledger.ErrNotFound) {
			t.Errorf("Get(%s/%s) after Update of a missing entry: err = %v, want ErrNotFound", e.Migration, e.Key, err)
		}
	}
}

func testUpdateKeepsSeqAndCreatedAt(t *testing.T, s ledger.Store) {
	a := mustBegin(t, s, entry("m1", "client/C1"))
	b := mustBegin(t, s, entry("m1", "client/C2"))
	change := commit(a, 5)
	change.Seq = b.Seq + 100
	change.CreatedAt = a.CreatedAt.Add(-time.Hour)
	mustUpdate(t, s, ledger.StatusPending, change)
	got := mustGet(t, s, "m1", "client/C1")
	if got.Seq != a.Seq {
		t.Errorf("Seq after Update = %d, want %d kept", got.Seq, a.Seq)
	}
	if !got.CreatedAt.Equal(a.CreatedAt) {
		t.Errorf("CreatedAt after Update = %v, want %v kept", got.CreatedAt, a.CreatedAt)
	}
	list := listAll(t, s, "m1")
	if len(list) != 2 || list[0].Key != "client/C2" || list[1].Key != "client/C1" {
		t.Errorf("List after Update = %v, want C2 then C1", keys(list))
	}
}

func testUpdateInvalid(t *testing.T, s ledger.Store) {
	e := mustBegin(t, s, entry("m1", "client/C1"))
	bad := e
	bad.Status = "done"
	if err := s.Update(context.Background(), ledger.StatusPending, bad); err == nil {
		t.Error("Update to an unknown status: err = nil, want an error")
	}
	bad = commit(e, 1)
	bad.Previous = json.RawMessage("not json")
	if err := s.Update(context.Background(), ledger.StatusPending, bad); err == nil {
		t.Error("Update with invalid Previous: err = nil, want an error")
	}
	checkEqual(t, "entry after refused Updates", mustGet(t, s, "m1", "client/C1"), e)
}

func testRoundTrip(t *testing.T, s ledger.Store) {
	in := ledger.Entry{
		Migration:        "firm-2026",
		Key:              "matter/M1/participant/C2",
		Run:              "run-7",
		SourceKind:       "matter",
		SourceID:         "M1",
		TargetKind:       "participant",
		Op:               ledger.OpLink,
		PayloadHash:      "sha256:abc",
		SourceHash:       "sha256:def",
		Previous:         json.RawMessage(`{"name":null,"email":[{"value":"x@example.com","primary":true}]}`),
		TargetUpdateTime: "2026-01-02 03:04:05",
		CreatedAt:        time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC),
		UpdatedAt:        time.Date(2026, 1, 2, 3, 4, 6, 0, time.FixedZone("BST", 3600)),
		ExpiresAt:        time.Date(2026, 4, 2, 3, 4, 5, 0, time.UTC),
	}
	got := mustBegin(t, s, in)
	want := in
	want.Seq, want.Status = got.Seq, ledger.StatusPending
	checkEqual(t, "Begin", got, want)
	checkEqual(t, "Get", mustGet(t, s, in.Migration, in.Key), want)

	in = got
	in.Status, in.TargetID, in.ParentID = ledger.StatusWritten, 1234567890123, 77
	mustUpdate(t, s, ledger.StatusPending, in)
	got = mustGet(t, s, in.Migration, in.Key)
	want = in
	want.UpdatedAt = got.UpdatedAt
	checkEqual(t, "Get after Update", got, want)
	if list := listAll(t, s, in.Migration); len(list) != 1 {
		t.Fatalf("List = %d entries, want 1", len(list))
	} else {
		checkEqual(t, "List", list[0], want)
	}

	// Clearing optional fields clears them.
	in = got
	in.Status, in.Previous, in.PayloadHash, in.SourceHash, in.ExpiresAt, in.ParentID = ledger.StatusRolledBack, nil, "", "", time.Time{}, 0
	mustUpdate(t, s, ledger.StatusWritten, in)
	got = mustGet(t, s, in.Migration, in.Key)
	want = in
	want.UpdatedAt = got.UpdatedAt
	checkEqual(t, "Get after clearing Update", got, want)
}

func testPreviousByteForByte(t *testing.T, s ledger.Store) {
	tests := []struct{ name, previous string }{
		{"object", `{"name":"Anne Smith","phone":[{"value":"+44 20 7946 0000","label":"work"}]}`},
		{"html characters", `{"org":"Smith & Sons <Ltd>","note":"a>b"}`},
		{"escapes", `{"q":"say \"hi\"\n\ttab","u":"\u00e9"}`},
		{"non-ASCII", `{"name":"Zoë Ó Briain","city":"Llanfairpwllgwyngyll","sym":"£€"}`},
		{"nulls and numbers", `{"a":null,"b":1.50,"c":-0,"d":1e3,"e":true}`},
		{"empty object", `{}`},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key := fmt.Sprintf("client/C%d", i)
			e := entry("m1", key)
			e.Op = ledger.OpUpdate
			e.Previous = json.RawMessage(tc.previous)
			if got := mustBegin(t, s, e); string(got.Previous) != tc.previous {
				t.Errorf("Begin Previous = %s, want %s", got.Previous, tc.previous)
			}
			if got := mustGet(t, s, "m1", key); string(got.Previous) != tc.previous {
				t.Errorf("Get Previous = %s, want %s", got.Previous, tc.previous)
			}
		})
	}
	for _, e := range listAll(t, s, "m1") {
		var i int
		fmt.Sscanf(e.Key, "client/C%d", &i)
		if string(e.Previous) != tests[i].previous {
			t.Errorf("List %s Previous = %s, want %s", e.Key, e.Previous, tests[i].previous)
		}
	}
}

func testExpiresAt(t *testing.T, s ledger.Store) {
	tests := []struct {
		name string
		in   time.Time
		want time.Time
	}{
		{"zero stays zero", time.Time{}, time.Time{}},
		{"whole second", time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)},
		{"kept to the second", time.Date(2026, 6, 1, 12, 30, 15, 999999999, time.UTC), time.Date(2026, 6, 1, 12, 30, 15, 0, time.UTC)},
		{"other zone", time.Date(2026, 6, 1, 13, 0, 0, 0, time.FixedZone("BST", 3600)), time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := entry("m1", tc.name)
			e.ExpiresAt = tc.in
			mustBegin(t, s, e)
			got := mustGet(t, s, "m1", tc.name)
			if !got.ExpiresAt.Equal(tc.want) || got.ExpiresAt.IsZero() != tc.want.IsZero() {
				t.Errorf("ExpiresAt = %v, want %v", got.ExpiresAt, tc.want)
			}
			got.Status = ledger.StatusWritten
			mustUpdate(t, s, ledger.StatusPending, got)
			if got := mustGet(t, s, "m1", tc.name); !got.ExpiresAt.Equal(tc.want) {
				t.Errorf("ExpiresAt after Update = %v, want %v", got.ExpiresAt, tc.want)
			}
		})
	}
}

// testStoredCopies checks that a store does not share Previous's bytes with
// its callers.
func testStoredCopies(t *testing.T, s ledger.Store) {
	prev := []byte(`{"name":"before"}`)
	e := entry("m1", "client/C1")
	e.Previous = prev
	got := mustBegin(t, s, e)
	copy(prev, `{"name":"AFTER!"}`)
	if len(got.Previous) > 0 {
		got.Previous[2] = 'X'
	}
	if got := mustGet(t, s, "m1", "client/C1"); string(got.Previous) != `{"name":"before"}` {
		t.Errorf("Previous = %s after callers changed their copies, want the original", got.Previous)
	}
}

func keys(entries []ledger.Entry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.Key
	}
	return out
}

func testListNewestFirst(t *testing.T, s ledger.Store) {
	var want []string
	for i := range 10 {
		key := fmt.Sprintf("k%02d", (i*7)%10) // not in key order
		mustBegin(t, s, entry("m1", key))
		want = append(want, key)
		mustBegin(t, s, entry("m1-other", key))
		mustBegin(t, s, entry("m", key)) // a prefix of m1
	}
	s.PutMeta(context.Background(), "m1", "watermark", []byte("x"))
	slices.Reverse(want)
	got := listAll(t, s, "m1")
	if !slices.Equal(keys(got), want) {
		t.Errorf("List keys = %v, want %v", keys(got), want)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Seq >= got[i-1].Seq {
			t.Errorf("List: Seq %d after %d, want decreasing", got[i].Seq, got[i-1].Seq)
		}
	}
	for _, e := range got {
		if e.Migration != "m1" {
			t.Errorf("List(m1) gave an entry of %q", e.Migration)
		}
	}
}

func testListEmpty(t *testing.T, s ledger.Store) {
	mustBegin(t, s, entry("m1", "k"))
	if got := listAll(t, s, "m2"); len(got) != 0 {
		t.Errorf("List of a migration with no entries = %v, want none", keys(got))
	}
}

func testListLarge(t *testing.T, s ledger.Store) {
	const n = 300
	for i := range n {
		e := entry("big", fmt.Sprintf("document/D%d/part/%d", i/3, i%3))
		e.Previous = json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))
		mustBegin(t, s, e)
	}
	mustBegin(t, s, entry("small", "only"))
	got := listAll(t, s, "big")
	if len(got) != n {
		t.Fatalf("List returned %d entries, want %d", len(got), n)
	}
	seen := map[string]bool{}
	for i, e := range got {
		want := n - 1 - i
		if wantKey := fmt.Sprintf("document/D%d/part/%d", want/3, want%3); e.Key != wantKey {
			t.Fatalf("List[%d] = %s, want %s", i, e.Key, wantKey)
		}
		if seen[e.Key] {
			t.Fatalf("List gave %s twice", e.Key)
		}
		seen[e.Key] = true
	}
}

func testListStopsOnError(t *testing.T, s ledger.Store) {
	for i := range 20 {
		mustBegin(t, s, entry("m1", fmt.Sprintf("k%d", i)))
	}
	stop := errors.New("stop here")
	calls := 0
	err := s.List(context.Background(), "m1", func(ledger.Entry) error {
		calls++
		if calls == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Errorf("List: err = %v, want the callback's error", err)
	}
	if calls != 3 {
		t.Errorf("callback called %d times, want 3", calls)
	}
}

// testListCallbackMayWrite is how rollback uses the ledger: list newest
// first and mark each entry rolled back as it goes.
func testListCallbackMayWrite(t *testing.T, s ledger.Store) {
	ctx := context.Background()
	const n = 40
	for i := range n {
		e := mustBegin(t, s, entry("m1", fmt.Sprintf("k%d", i)))
		mustUpdate(t, s, ledger.StatusPending, commit(e, int64(i+1)))
	}
	var visited []string
	err := s.List(ctx, "m1", func(e ledger.Entry) error {
		visited = append(visited, e.Key)
		e.Status = ledger.StatusRolledBack
		if err := s.Update(ctx, ledger.StatusWritten, e); err != nil {
			return err
		}
		return s.PutMeta(ctx, "m1", "rollback-progress", []byte(e.Key))
	})
	if err != nil {
		t.Fatalf("List with writing callback: %v", err)
	}
	if len(visited) != n {
		t.Errorf("visited %d entries, want %d", len(visited), n)
	}
	for _, e := range listAll(t, s, "m1") {
		if e.Status != ledger.StatusRolledBack {
			t.Errorf("%s: status %s, want rolled_back", e.Key, e.Status)
		}
	}
}

func testMeta(t *testing.T, s ledger.Store) {
	ctx := context.Background()
	if _, err := s.GetMeta(ctx, "m1", "watermark"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("GetMeta before PutMeta: err = %v, want ErrNotFound", err)
	}
	tests := []struct {
		name  string
		value []byte
	}{
		{"first", []byte(`{"exported_at":"2026-01-31T00:00:00Z"}`)},
		{"overwrite", []byte(`{"exported_at":"2026-02-28T00:00:00Z"}`)},
		{"binary", []byte{0, 1, 2, 0xff, 0xfe}},
		{"shorter", []byte("x")},
		{"empty", []byte{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			value := slices.Clone(tc.value)
			if err := s.PutMeta(ctx, "m1", "watermark", value); err != nil {
				t.Fatalf("PutMeta: %v", err)
			}
			if len(value) > 0 {
				value[0] ^= 0xff // the store keeps its own copy
			}
			got, err := s.GetMeta(ctx, "m1", "watermark")
			if err != nil {
				t.Fatalf("GetMeta: %v", err)
			}
			if string(got) != string(tc.value) {
				t.Errorf("GetMeta = %q, want %q", got, tc.value)
			}
		})
	}
	if _, err := s.GetMeta(ctx, "m2", "watermark"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("GetMeta of another migration: err = %v, want ErrNotFound", err)
	}
	if _, err := s.GetMeta(ctx, "m1", "last-run"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("GetMeta of another name: err = %v, want ErrNotFound", err)
	}
	if err := s.PutMeta(ctx, "", "watermark", []byte("x")); err == nil {
		t.Error("PutMeta with empty migration: err = nil, want an error")
	}
	if err := s.PutMeta(ctx, "m1", "", []byte("x")); err == nil {
		t.Error("PutMeta with empty name: err = nil, want an error")
	}
}

// testMetaSeparateFromEntries checks that meta values and entries do not
// see each other, even under the same name.
func testMetaSeparateFromEntries(t *testing.T, s ledger.Store) {
	ctx := context.Background()
	for _, name := range []string{"client/C1", "seq", "meta", "entries"} {
		if err := s.PutMeta(ctx, "m1", name, []byte("v")); err != nil {
			t.Fatalf("PutMeta(%s): %v", name, err)
		}
	}
	if got := listAll(t, s, "m1"); len(got) != 0 {
		t.Errorf("List after PutMeta only = %v, want none", keys(got))
	}
	if _, err := s.Get(ctx, "m1", "client/C1"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("Get of a meta name: err = %v, want ErrNotFound", err)
	}
	e := mustBegin(t, s, entry("m1", "client/C1"))
	if e.Seq <= 0 {
		t.Errorf("Seq = %d, want > 0", e.Seq)
	}
	if got, err := s.GetMeta(ctx, "m1", "client/C1"); err != nil || string(got) != "v" {
		t.Errorf("GetMeta after Begin of the same name = %q, %v; want v", got, err)
	}
	if got := listAll(t, s, "m1"); len(got) != 1 {
		t.Errorf("List = %v, want the one entry", keys(got))
	}
}

const goroutines = 16

func testConcurrentBeginSameKey(t *testing.T, s ledger.Store) {
	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		results = make([]ledger.Entry, goroutines)
		errs    = make([]error, goroutines)
	)
	for i := range goroutines {
		wg.Go(func() {
			<-start
			e := entry("m1", "client/C1")
			e.Run = fmt.Sprintf("worker-%d", i)
			results[i], errs[i] = s.Begin(context.Background(), e)
		})
	}
	close(start)
	wg.Wait()

	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Errorf("workers %d and %d both began the entry", winner, i)
			}
			winner = i
		case !errors.Is(err, ledger.ErrExists):
			t.Errorf("worker %d: err = %v, want nil or ErrExists", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no worker began the entry")
	}
	stored := mustGet(t, s, "m1", "client/C1")
	if stored.Run != fmt.Sprintf("worker-%d", winner) {
		t.Errorf("stored Run = %s, want the winner's worker-%d", stored.Run, winner)
	}
	for i, got := range results {
		checkEqual(t, fmt.Sprintf("worker %d's entry", i), got, stored)
	}
	if n := len(listAll(t, s, "m1")); n != 1 {
		t.Errorf("List has %d entries, want 1", n)
	}
}

func testConcurrentUpdateSameEntry(t *testing.T, s ledger.Store) {
	e := mustBegin(t, s, entry("m1", "client/C1"))
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make([]error, goroutines)
	)
	for i := range goroutines {
		wg.Go(func() {
			<-start
			errs[i] = s.Update(context.Background(), ledger.StatusPending, commit(e, int64(i+1)))
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Errorf("workers %d and %d both committed the entry", winner, i)
			}
			winner = i
		case !errors.Is(err, ledger.ErrConflict):
			t.Errorf("worker %d: err = %v, want nil or ErrConflict", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no worker committed the entry")
	}
	if got := mustGet(t, s, "m1", "client/C1"); got.TargetID != int64(winner+1) || got.Status != ledger.StatusWritten {
		t.Errorf("stored status %s, target %d; want written by the winner, %d", got.Status, got.TargetID, winner+1)
	}
}

func testConcurrentBeginManyKeys(t *testing.T, s ledger.Store) {
	const perWorker = 8
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*perWorker)
	for w := range goroutines {
		wg.Go(func() {
			for i := range perWorker {
				m := []string{"m1", "m2"}[i%2]
				if _, err := s.Begin(context.Background(), entry(m, fmt.Sprintf("w%d/k%d", w, i))); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Begin: %v", err)
	}
	for _, m := range []string{"m1", "m2"} {
		list := listAll(t, s, m)
		if len(list) != goroutines*perWorker/2 {
			t.Errorf("List(%s) = %d entries, want %d", m, len(list), goroutines*perWorker/2)
		}
		seqs := map[int64]string{}
		for _, e := range list {
			if other, ok := seqs[e.Seq]; ok {
				t.Errorf("%s: %s and %s share Seq %d", m, other, e.Key, e.Seq)
			}
			seqs[e.Seq] = e.Key
		}
	}
}

func testCancelledContext(t *testing.T, s ledger.Store) {
	mustBegin(t, s, entry("m1", "client/C1"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	e := entry("m1", "client/C2")
	if _, err := s.Begin(ctx, e); !errors.Is(err, context.Canceled) {
		t.Errorf("Begin: err = %v, want context.Canceled", err)
	}
	if _, err := s.Get(context.Background(), "m1", "client/C2"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("Get after cancelled Begin: err = %v, want ErrNotFound", err)
	}
	if _, err := s.Get(ctx, "m1", "client/C1"); !errors.Is(err, context.Canceled) {
		t.Errorf("Get: err = %v, want context.Canceled", err)
	}
	e = mustGet(t, s, "m1", "client/C1")
	if err := s.Update(ctx, ledger.StatusPending, commit(e, 1)); !errors.Is(err, context.Canceled) {
		t.Errorf("Update: err = %v, want context.Canceled", err)
	}
	if got := mustGet(t, s, "m1", "client/C1"); got.Status != ledger.StatusPending {
		t.Errorf("status after cancelled Update = %s, want pending", got.Status)
	}
	called := false
	if err := s.List(ctx, "m1", func(ledger.Entry) error { called = true; return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("List: err = %v, want context.Canceled", err)
	}
	if called {
		t.Error("List called fn with a cancelled context")
	}
	if err := s.PutMeta(ctx, "m1", "w", []byte("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("PutMeta: err = %v, want context.Canceled", err)
	}
	if _, err := s.GetMeta(ctx, "m1", "w"); !errors.Is(err, context.Canceled) {
		t.Errorf("GetMeta: err = %v, want context.Canceled", err)
	}

	// Cancelled while listing: the listing stops with ctx's error.
	for i := range 10 {
		mustBegin(t, s, entry("m2", fmt.Sprintf("k%d", i)))
	}
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	calls := 0
	err := s.List(ctx, "m2", func(ledger.Entry) error {
		calls++
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) || calls != 1 {
		t.Errorf("List cancelled by its callback: err = %v after %d calls, want context.Canceled after 1", err, calls)
	}
}

// RunBeginCommitBenchmark measures the write path of the load step: Begin
// a pending entry, then commit it with Update, one key per iteration, from
// parallel goroutines (b.RunParallel) as the loaders write.
func RunBeginCommitBenchmark(b *testing.B, s ledger.Store) {
	b.Helper()
	ctx := context.Background()
	var (
		mu sync.Mutex
		n  int
	)
	next := func() int {
		mu.Lock()
		defer mu.Unlock()
		n++
		return n
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next()
			e := entry("bench", fmt.Sprintf("client/C%07d", i))
			e.Previous = json.RawMessage(`{"name":"before","phone":null}`)
			e, err := s.Begin(ctx, e)
			if err != nil {
				b.Errorf("Begin: %v", err)
				return
			}
			if err := s.Update(ctx, ledger.StatusPending, commit(e, int64(i))); err != nil {
				b.Errorf("Update: %v", err)
				return
			}
		}
	})
}

// testListBefore: only entries below the given Seq, newest first, of that
// migration only; zero or less lists them all.
func testListBefore(t *testing.T, s ledger.Store) {
	ctx := context.Background()
	var seqs []int64
	for i := range 12 {
		seqs = append(seqs, mustBegin(t, s, entry("m1", fmt.Sprintf("k%02d", i))).Seq)
		mustBegin(t, s, entry("m1-other", fmt.Sprintf("k%02d", i)))
	}
	list := func(before int64) []int64 {
		t.Helper()
		var got []int64
		if err := s.ListBefore(ctx, "m1", before, func(e ledger.Entry) error {
			if e.Migration != "m1" {
				t.Errorf("ListBefore(m1, %d) gave an entry of %q", before, e.Migration)
			}
			got = append(got, e.Seq)
			return nil
		}); err != nil {
			t.Fatalf("ListBefore(m1, %d): %v", before, err)
		}
		return got
	}
	all := slices.Clone(seqs)
	slices.Reverse(all)
	for _, tc := range []struct {
		before int64
		want   []int64
	}{
		{0, all},
		{-1, all},
		{seqs[11] + 1, all},
		{seqs[11] + 100, all},
		{seqs[11], all[1:]},
		{seqs[6], all[6:]},
		{seqs[1], all[11:]},
		{seqs[0], nil},
	} {
		if got := list(tc.before); !slices.Equal(got, tc.want) {
			t.Errorf("ListBefore(m1, %d) = %v, want %v", tc.before, got, tc.want)
		}
	}
	if got := listBeforeKeys(t, s, "m2", 5); len(got) != 0 {
		t.Errorf("ListBefore of a migration with no entries = %v, want none", got)
	}
}

// testListBeforeResumes is how a rollback in batches reads the ledger: list
// until a batch is full, stop, and carry on below the last Seq read, over
// more entries than a page of the stores run with small pages; every
// entry is read once.
func testListBeforeResumes(t *testing.T, s ledger.Store) {
	ctx := context.Background()
	const n, batch = 100, 13
	for i := range n {
		e := mustBegin(t, s, entry("big", fmt.Sprintf("k%03d", i)))
		mustUpdate(t, s, ledger.StatusPending, commit(e, int64(i+1)))
	}
	full := errors.New("batch full")
	seen := map[string]bool{}
	var order []int64
	before, batches := int64(0), 0
	for {
		read := 0
		err := s.ListBefore(ctx, "big", before, func(e ledger.Entry) error {
			if read == batch {
				return full
			}
			read++
			if seen[e.Key] {
				t.Fatalf("%s read twice", e.Key)
			}
			seen[e.Key] = true
			order = append(order, e.Seq)
			before = e.Seq
			e.Status = ledger.StatusRolledBack
			return s.Update(ctx, ledger.StatusWritten, e)
		})
		batches++
		if err == nil {
			break
		}
		if !errors.Is(err, full) {
			t.Fatalf("ListBefore(big, %d): %v", before, err)
		}
		if batches > n {
			t.Fatal("ListBefore does not move on")
		}
	}
	if len(seen) != n {
		t.Errorf("read %d entries in %d batches, want %d", len(seen), batches, n)
	}
	if want := (n + batch - 1) / batch; batches != want && batches != want+1 {
		t.Errorf("%d batches, want %d", batches, want)
	}
	for i := 1; i < len(order); i++ {
		if order[i] >= order[i-1] {
			t.Fatalf("Seq %d after %d, want decreasing across batches", order[i], order[i-1])
		}
	}
	for _, e := range listAll(t, s, "big") {
		if e.Status != ledger.StatusRolledBack {
			t.Errorf("%s is %s after the batches, want rolled_back", e.Key, e.Status)
		}
	}
}

func listBeforeKeys(t testing.TB, s ledger.Store, migration string, before int64) []string {
	t.Helper()
	var got []string
	if err := s.ListBefore(context.Background(), migration, before, func(e ledger.Entry) error {
		got = append(got, e.Key)
		return nil
	}); err != nil {
		t.Fatalf("ListBefore(%s, %d): %v", migration, before, err)
	}
	return got
}
