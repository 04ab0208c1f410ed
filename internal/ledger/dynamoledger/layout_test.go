package dynamoledger

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/conveyor-migrate/conveyor/internal/ledger"
)

// TestTableLayout checks the table CreateTable makes against the layout the
// package comment promises and the SAM template copies.
func TestTableLayout(t *testing.T) {
	s := MustOpen(t)
	ctx := context.Background()
	out, err := s.client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &s.table})
	if err != nil {
		t.Fatal(err)
	}
	d := out.Table
	if got := keySchema(d.KeySchema); got != "pk HASH, sk RANGE" {
		t.Errorf("key schema = %s", got)
	}
	if len(d.LocalSecondaryIndexes) != 1 {
		t.Fatalf("LSIs = %d, want 1", len(d.LocalSecondaryIndexes))
	}
	lsi := d.LocalSecondaryIndexes[0]
	if aws.ToString(lsi.IndexName) != IndexBySeq || keySchema(lsi.KeySchema) != "pk HASH, seq RANGE" ||
		lsi.Projection == nil || lsi.Projection.ProjectionType != types.ProjectionTypeAll {
		t.Errorf("LSI = %s (%s), want %s (pk HASH, seq RANGE), projection ALL", aws.ToString(lsi.IndexName), keySchema(lsi.KeySchema), IndexBySeq)
	}
	if d.BillingModeSummary == nil || d.BillingModeSummary.BillingMode != types.BillingModePayPerRequest {
		t.Errorf("billing = %+v, want PAY_PER_REQUEST", d.BillingModeSummary)
	}
	if d.SSEDescription == nil || d.SSEDescription.Status != types.SSEStatusEnabled {
		t.Errorf("SSE = %+v, want enabled", d.SSEDescription)
	}
	ttl, err := s.client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: &s.table})
	if err != nil {
		t.Fatal(err)
	}
	if d := ttl.TimeToLiveDescription; d == nil || aws.ToString(d.AttributeName) != "expires_at" || d.TimeToLiveStatus != types.TimeToLiveStatusEnabled {
		t.Errorf("TTL = %+v, want enabled on expires_at", d)
	}
	if err := CreateTable(ctx, s.client, s.table); !errors.As(err, new(*types.ResourceInUseException)) {
		t.Errorf("CreateTable of an existing table: err = %v, want ResourceInUseException", err)
	}
}

func keySchema(ks []types.KeySchemaElement) string {
	var s string
	for i, k := range ks {
		if i > 0 {
			s += ", "
		}
		s += aws.ToString(k.AttributeName) + " " + string(k.KeyType)
	}
	return s
}

// TestItems checks the items a Store writes: the attributes other tools
// (TTL, the console, the SAM template's index) read.
func TestItems(t *testing.T) {
	s := MustOpen(t)
	ctx := context.Background()
	expires := time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC)
	e, err := s.Begin(ctx, ledger.Entry{Migration: "m", Key: "client/C1", TargetKind: "person", Op: ledger.OpCreate, ExpiresAt: expires})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Begin(ctx, ledger.Entry{Migration: "m", Key: "client/C2", Op: ledger.OpCreate}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutMeta(ctx, "m", "watermark", []byte("w")); err != nil {
		t.Fatal(err)
	}
	item := rawItem(t, s, "m", "client/C1")
	want := map[string]string{"seq": "1", "status": "pending", "op": "create", "target_kind": "person", "expires_at": "1788264000"}
	for name, v := range want {
		if got := attrString(item[name]); got != v {
			t.Errorf("%s = %q, want %q", name, got, v)
		}
	}
	if _, ok := item["target_id"]; ok {
		t.Error("a zero target_id is stored; want it left out")
	}
	if _, ok := rawItem(t, s, "m", "client/C2")["expires_at"]; ok {
		t.Error("expires_at stored for an entry without ExpiresAt")
	}
	if got := attrString(rawItem(t, s, "m", "#seq")["n"]); got != "2" {
		t.Errorf("counter n = %q, want 2", got)
	}
	if meta := rawItem(t, s, "m", "#meta#watermark"); meta == nil {
		t.Error("no #meta#watermark item")
	} else if _, ok := meta["seq"]; ok {
		t.Error("meta item has a seq attribute; it would show in by_seq")
	}
	// Only the entries are in the index.
	out, err := s.client.Query(ctx, &dynamodb.QueryInput{
		TableName:                 &s.table,
		IndexName:                 aws.String(IndexBySeq),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "m"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Items) != 2 {
		t.Errorf("by_seq holds %d items of m, want the 2 entries", len(out.Items))
	}

	// Update keeps seq and created_at and removes what the entry clears.
	e.Status, e.TargetID, e.ExpiresAt = ledger.StatusWritten, 9, time.Time{}
	if err := s.Update(ctx, ledger.StatusPending, e); err != nil {
		t.Fatal(err)
	}
	after := rawItem(t, s, "m", "client/C1")
	if attrString(after["seq"]) != "1" || attrString(after["created_at"]) != attrString(item["created_at"]) || attrString(after["target_id"]) != "9" {
		t.Errorf("after Update seq %s created_at %s target_id %s; want 1, %s, 9",
			attrString(after["seq"]), attrString(after["created_at"]), attrString(after["target_id"]), attrString(item["created_at"]))
	}
	if _, ok := after["expires_at"]; ok {
		t.Error("expires_at kept after Update cleared ExpiresAt")
	}
}

func rawItem(t *testing.T, s *Store, pk, sk string) map[string]types.AttributeValue {
	t.Helper()
	out, err := s.client.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: &s.table, Key: itemKey(pk, sk), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	return out.Item
}

func attrString(av types.AttributeValue) string {
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		return v.Value
	case *types.AttributeValueMemberN:
		return v.Value
	}
	return ""
}

// TestConditionFailureWithoutItem covers servers that do not return the
// item with a failed condition (ReturnValuesOnConditionCheckFailure is
// newer than the protocol): the Store reads it instead.
func TestConditionFailureWithoutItem(t *testing.T) {
	s := MustOpen(t)
	ctx := context.Background()
	want, err := s.Begin(ctx, ledger.Entry{Migration: "m", Key: "k", Run: "r1"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.existing(ctx, &types.ConditionalCheckFailedException{}, "m", "k")
	if err != nil || got.Run != "r1" || got.Seq != want.Seq {
		t.Errorf("existing = %+v, %v; want the stored entry", got, err)
	}
	if _, err := s.existing(ctx, &types.ConditionalCheckFailedException{}, "m", "other"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("existing of a missing key: err = %v, want ErrNotFound", err)
	}
}

func TestTableDefinitionNames(t *testing.T) {
	def := TableDefinition("conveyor-ledger")
	if aws.ToString(def.TableName) != "conveyor-ledger" {
		t.Errorf("TableName = %s", aws.ToString(def.TableName))
	}
	if def.BillingMode != types.BillingModePayPerRequest || def.SSESpecification == nil || !aws.ToBool(def.SSESpecification.Enabled) {
		t.Errorf("billing %s, SSE %+v; want PAY_PER_REQUEST and SSE enabled", def.BillingMode, def.SSESpecification)
	}
}
