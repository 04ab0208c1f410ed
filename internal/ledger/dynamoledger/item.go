package dynamoledger

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/conveyor-migrate/conveyor/internal/ledger"
)

// Attribute names and reserved sort keys; see the package comment.
const (
	attrPK               = "pk"
	attrSK               = "sk"
	attrSeq              = "seq"
	attrRun              = "run"
	attrSourceKind       = "source_kind"
	attrSourceID         = "source_id"
	attrTargetKind       = "target_kind"
	attrTargetID         = "target_id"
	attrParentID         = "parent_id"
	attrOp               = "op"
	attrStatus           = "status"
	attrPayloadHash      = "payload_hash"
	attrSourceHash       = "source_hash"
	attrPrevious         = "previous"
	attrTargetUpdateTime = "target_update_time"
	attrCreatedAt        = "created_at"
	attrUpdatedAt        = "updated_at"
	attrExpiresAt        = "expires_at"

	attrCounter = "n"
	attrValue   = "value"

	skSeq        = "#seq"
	skMetaPrefix = "#meta#"
)

// mutable are the attributes Update sets, or removes when the entry leaves
// them empty. pk, sk, seq and created_at are not among them.
var mutable = []string{
	attrRun, attrSourceKind, attrSourceID, attrTargetKind, attrTargetID, attrParentID,
	attrOp, attrStatus, attrPayloadHash, attrSourceHash, attrPrevious, attrTargetUpdateTime, attrUpdatedAt, attrExpiresAt,
}

func itemKey(migration, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: migration},
		attrSK: &types.AttributeValueMemberS{Value: sk},
	}
}

const timeLayout = time.RFC3339Nano

// entryItem returns e as an item, leaving out empty attributes.
func entryItem(e ledger.Entry) map[string]types.AttributeValue {
	item := itemKey(e.Migration, e.Key)
	str := func(name, v string) {
		if v != "" {
			item[name] = &types.AttributeValueMemberS{Value: v}
		}
	}
	num := func(name string, v int64) {
		if v != 0 {
			item[name] = &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
		}
	}
	tm := func(name string, t time.Time) {
		if !t.IsZero() {
			str(name, t.UTC().Format(timeLayout))
		}
	}
	num(attrSeq, e.Seq)
	str(attrRun, e.Run)
	str(attrSourceKind, e.SourceKind)
	str(attrSourceID, e.SourceID)
	str(attrTargetKind, e.TargetKind)
	num(attrTargetID, e.TargetID)
	num(attrParentID, e.ParentID)
	str(attrOp, string(e.Op))
	str(attrStatus, string(e.Status))
	str(attrPayloadHash, e.PayloadHash)
	str(attrSourceHash, e.SourceHash)
	str(attrPrevious, string(e.Previous))
	str(attrTargetUpdateTime, e.TargetUpdateTime)
	tm(attrCreatedAt, e.CreatedAt)
	tm(attrUpdatedAt, e.UpdatedAt)
	if !e.ExpiresAt.IsZero() {
		num(attrExpiresAt, e.ExpiresAt.Unix())
	}
	return item
}

// updateInput returns an UpdateItem that sets e's mutable attributes and
// removes those e leaves empty, with the expression names and values
// filled in; the caller adds the table and the condition.
func updateInput(e ledger.Entry) *dynamodb.UpdateItemInput {
	item := entryItem(e)
	names := map[string]string{}
	values := map[string]types.AttributeValue{}
	var set, remove string
	for _, name := range mutable {
		// Attribute names are plain identifiers, so "#"+name and ":"+name
		// are valid placeholders; the condition shares "#status".
		ref := "#" + name
		names[ref] = name
		if v, ok := item[name]; ok {
			values[":"+name] = v
			set += sep(set) + ref + " = :" + name
		} else {
			remove += sep(remove) + ref
		}
	}
	expr := "SET " + set // status and updated_at are always set
	if remove != "" {
		expr += " REMOVE " + remove
	}
	return &dynamodb.UpdateItemInput{
		Key:                       itemKey(e.Migration, e.Key),
		UpdateExpression:          &expr,
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	}
}

func sep(s string) string {
	if s == "" {
		return ""
	}
	return ", "
}

// entryFromItem reads an entry item. It returns an error if a required
// attribute is missing or an attribute has the wrong type.
func entryFromItem(item map[string]types.AttributeValue) (ledger.Entry, error) {
	var (
		e        ledger.Entry
		firstErr error
	)
	fail := func(err error) {
		if firstErr == nil {
			firstErr = err
		}
	}
	str := func(name string, required bool) string {
		av, ok := item[name]
		if !ok {
			if required {
				fail(fmt.Errorf("no %s attribute", name))
			}
			return ""
		}
		s, ok := av.(*types.AttributeValueMemberS)
		if !ok {
			fail(fmt.Errorf("%s attribute is %T, not a string", name, av))
			return ""
		}
		return s.Value
	}
	num := func(name string, required bool) int64 {
		if _, ok := item[name]; !ok && !required {
			return 0
		}
		n, err := numberAttr(item, name)
		if err != nil {
			fail(err)
		}
		return n
	}
	tm := func(name string) time.Time {
		s := str(name, false)
		if s == "" {
			return time.Time{}
		}
		t, err := time.Parse(timeLayout, s)
		if err != nil {
			fail(fmt.Errorf("%s attribute: %w", name, err))
		}
		return t
	}
	e.Migration = str(attrPK, true)
	e.Key = str(attrSK, true)
	e.Seq = num(attrSeq, true)
	e.Run = str(attrRun, false)
	e.SourceKind = str(attrSourceKind, false)
	e.SourceID = str(attrSourceID, false)
	e.TargetKind = str(attrTargetKind, false)
	e.TargetID = num(attrTargetID, false)
	e.ParentID = num(attrParentID, false)
	e.Op = ledger.Op(str(attrOp, false))
	e.Status = ledger.Status(str(attrStatus, true))
	e.PayloadHash = str(attrPayloadHash, false)
	e.SourceHash = str(attrSourceHash, false)
	if p := str(attrPrevious, false); p != "" {
		e.Previous = json.RawMessage(p)
	}
	e.TargetUpdateTime = str(attrTargetUpdateTime, false)
	e.CreatedAt = tm(attrCreatedAt)
	e.UpdatedAt = tm(attrUpdatedAt)
	if n := num(attrExpiresAt, false); n != 0 {
		e.ExpiresAt = time.Unix(n, 0).UTC()
	}
	if firstErr != nil {
		return ledger.Entry{}, fmt.Errorf("read entry %s/%s: %w", e.Migration, e.Key, firstErr)
	}
	return e, nil
}
