package extract

import (
	"os"
	"strings"
	"testing"

	"github.com/conveyor-migrate/conveyor/internal/blob/memblob"
	pp "github.com/conveyor-migrate/conveyor/internal/perfectportal"
)

// dupesBundle is rulesBundle with duplicate ids in the tables settled once
// read (activities, documents, templates): every order of accepted,
// rejected, identical and conflicting rows, and duplicate documents whose
// files are missing or fine; and repeated links, one of an unmapped stage. Its golden audit was written by the code that
// kept every id in a map, row by row.
func dupesBundle() map[string]string {
	files := rulesBundle()
	const ok = "01/03/2026 10:00,FE1,yes\n"
	files["activities.csv"] = "activity_id,matter_id,type,subject,body,occurred_at,fee_earner_id,done\n" +
		"A1,M1,call,Intro,," + ok + // 2 accepted
		"A1,M1,call,Intro,," + ok + // 3 merged: identical to 2
		"A2,M1,call,First,," + ok + // 4 merged: conflicts with 5, which is later
		"A2,M1,email,Second,," + ok + // 5 merged: conflicts with 6
		"A2,M1,sms,Third,," + ok + // 6 accepted
		"A3,M404,call,Orphan,," + ok + // 7 quarantined: no matter
		"A3,M1,call,Real,," + ok + // 8 accepted: the id was quarantined
		"A4,M1,note,Real,," + ok + // 9 accepted
		"A4,M404,note,Orphan,," + ok + // 10 quarantined: no matter; A4 stays accepted
		"A5,M1,email,,,,FE1,yes\n" + // 11 quarantined: no occurred_at
		"A5,M1,email,,,,FE1,yes\n" + // 12 quarantined again
		"A6,M1,meeting,Same,," + ok + // 13 merged: conflicts with 15
		"A6,M1,meeting,Same,," + ok + // 14 merged: identical to 13, which 15 replaced
		"A6,M1,letter,Other,," + ok + // 15 accepted, warning: unknown type
		"A7,M1,sms,Skip,," + ok + // 16 accepted
		"A8,M2,task,Later,,01/03/2026 10:00,FE1,yes" // 17 accepted (no newline at the end)
	contract := "%PDF-1.4 contract"
	files["documents/M1/other.pdf"] = "other file"
	files["documents.csv"] = "document_id,matter_id,file_name,path,size_bytes,sha256,content_type\n" +
		"D1,M1,contract.pdf,documents/M1/contract.pdf,17," + hexSum(contract) + ",application/pdf\n" + // 2 accepted
		"D1,M1,contract.pdf,documents/M1/contract.pdf,17," + hexSum(contract) + ",application/pdf\n" + // 3 merged: identical
		"D2,M1,missing.pdf,documents/M1/missing.pdf,10,,application/pdf\n" + // 4 merged: conflicts with 5 (and its file is missing)
		"D2,M1,contract.pdf,documents/M1/contract.pdf,17,,application/pdf\n" + // 5 accepted, no checksum
		"D3,M1,contract.pdf,documents/M1/contract.pdf,99," + hexSum(contract) + ",application/pdf\n" + // 6 merged: conflicts with 7
		"D3,M1,gone.pdf,documents/M1/gone.pdf,10,,application/pdf\n" + // 7 quarantined: file missing; D3 is not migrated
		"D4,M9,x.pdf,documents/M1/other.pdf,,,\n" + // 8 quarantined: no matter
		"D4,M2,other.pdf,Documents/M1/OTHER.pdf,3,,\n" + // 9 accepted: size differs, no checksum, path in another case
		"D5,M2,big.bin,documents/M2/big.bin,,,application/octet-stream\n" + // 10 accepted, over the limit
		"D5,M2,big.bin,documents/M2/big.bin,,,application/octet-stream\n" + // 11 merged: identical
		"D6,M2,id.pdf,documents/M2/id.pdf,7," + hexSum("other") + ",application/pdf\n" + // 12 quarantined: checksum
		"D6,M2,id.pdf,documents/M2/id.pdf,7," + hexSum("other") + ",application/pdf\n" // 13 merged: identical to 12 (files are checked after the rows)
	files["key_stages.csv"] += "M3,Valuation,2026-03-02T09:00:00Z\n" + // 8 accepted, counted as an unmapped stage
		"M3,Valuation,2026-03-02T09:00:00Z\n" + // 9 merged: repeats line 8, not counted again
		"M3,Valuation,02/03/2026 09:00\n" + // 10 merged: the same link, written another way
		"M3,Valuation,2026-03-03T09:00:00Z\n" // 11 accepted, counted
	files["matter_clients.csv"] += "M4,C4,1\n" // 9 merged: repeats line 8
	files["templates.csv"] = "template_id,name,channel,trigger_stage,audience,subject,body,active\n" +
		"T1,Searches update,email,Searches,client,Update,Hi,true\n" + // 2 accepted
		"T1,Searches update,email,Searches,client,Update,Hi,true\n" + // 3 merged: identical
		"T2,Old,email,Searches,client,Old,Hi,true\n" + // 4 merged: conflicts with 5
		"T2,New,email,Searches,client,New,Hi,true\n" // 5 accepted
	return files
}

// TestDeferredDuplicates checks that settling the ids of activities,
// documents and templates after reading them gives the audit that settling
// them row by row gave (the golden file), in memory and through runs on
// disk, and that staging is the same either way.
func TestDeferredDuplicates(t *testing.T) {
	dir := writeFiles(t, dupesBundle())
	golden(t, "dupes.audit.json", runAudit(t, dir, Options{Config: smallLimitConfig(t)}))

	stageWith := func(run int) (map[string]string, string) {
		defer func(n int) { deferredRun = n }(deferredRun)
		deferredRun = run
		store := memblob.New()
		tmp := t.TempDir()
		b, err := pp.Open(t.Context(), dir)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		if _, err := Run(t.Context(), b, Options{Config: smallLimitConfig(t), Stage: store, StagePrefix: "s/", TempDir: tmp}); err != nil {
			t.Fatal(err)
		}
		left, _ := os.ReadDir(tmp)
		names := []string{}
		for _, e := range left {
			names = append(names, e.Name())
		}
		return snapshot(t, store, "s/"), strings.Join(names, ", ")
	}
	want, _ := stageWith(deferredRun)
	for _, run := range []int{1, 2, 3, 5} {
		got, left := stageWith(run)
		if left != "" {
			t.Errorf("runs of %d: temporary files left: %s", run, left)
		}
		if len(got) != len(want) {
			t.Errorf("runs of %d: %d staged objects; want %d", run, len(got), len(want))
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("runs of %d: %s differs:\n%s", run, k, firstDiff(v, got[k]))
			}
		}
	}
}

// TestDeferredRunsOnSamples audits messy sample exports with events sorted
// in runs of a few hundred (so through files and the merge) and checks the
// audit and the staged chunks are those settled in memory.
func TestDeferredRunsOnSamples(t *testing.T) {
	for _, c := range sampleCases {
		if !c.opt.Messy {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			loc, _ := writeSample(t, c)
			cfg := limitConfig(t)
			cfg.Staging.ChunkMatters = 7
			stageWith := func(run int) map[string]string {
				defer func(n int) { deferredRun = n }(deferredRun)
				deferredRun = run
				store := memblob.New()
				stage(t, loc, store, "s/", cfg)
				return snapshot(t, store, "s/")
			}
			want, got := stageWith(1<<20), stageWith(97)
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s differs:\n%s", k, firstDiff(v, got[k]))
				}
			}
			if len(got) != len(want) {
				t.Errorf("%d staged objects; want %d", len(got), len(want))
			}
		})
	}
}

// TestIDIndex checks the index against a map through growth.
func TestIDIndex(t *testing.T) {
	for _, layout := range []indexLayout{0, withStamps, withStamps | withAux | withLinks, withSmall} {
		ix := newIDIndex(0, layout)
		ref := map[uint64]entry{}
		for i := 0; i < 5000; i++ {
			key := idKey("id" + string(rune('a'+i%7)) + strings.Repeat("x", i%13) + string(rune(i)))
			e := entry{line: int32(i), status: Status(i % 4), hash: uint64(i) * 0x9e3779b97f4a7c15}
			if layout&withStamps != 0 {
				e.stamp = int64(i) * 1000
			}
			if layout&withAux != 0 {
				e.v = [4]uint16{uint16(i), uint16(i >> 3), uint16(i >> 5), uint16(i>>7) & (1<<15 - 1)}
				if i%3 == 0 {
					e.links = 1
				}
			}
			if layout&withSmall != 0 {
				e.v[0] = uint16(i % 11)
			}
			ix.put(key, e)
			e.hash = fingerprint(e.hash)
			ref[key] = e
		}
		if ix.len() != len(ref) {
			t.Fatalf("layout %d: %d ids; want %d", layout, ix.len(), len(ref))
		}
		for k, want := range ref {
			if got, ok := ix.get(k); !ok || got != want {
				t.Fatalf("layout %d: get = %+v, %v; want %+v", layout, got, ok, want)
			}
		}
		n := 0
		ix.each(func(k uint64, e entry) {
			n++
			if ref[k] != e {
				t.Fatalf("layout %d: each gave %+v; want %+v", layout, e, ref[k])
			}
		})
		if _, ok := ix.get(idKey("absent")); ok || n != len(ref) {
			t.Fatalf("layout %d: found an absent id, or each saw %d of %d", layout, n, len(ref))
		}
	}
}
