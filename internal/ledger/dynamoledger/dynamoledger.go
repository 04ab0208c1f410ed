// Package dynamoledger is the ledger.Store that Conveyor uses on AWS: one
// DynamoDB table, written with conditional writes so that any number of
// Lambda workers share it safely.
//
// # Table layout
//
// TableDefinition gives the table; the SAM template must match it.
//
//	partition key  pk  (S)  the migration
//	sort key       sk  (S)  the entry key, or one of the reserved items below
//	LSI by_seq     pk, seq (N), projection ALL: the entries newest first
//	TTL            expires_at (N, epoch seconds)
//	billing        PAY_PER_REQUEST, server-side encryption with the AWS
//	               managed KMS key
//
// An entry item holds pk, sk and seq, and the other Entry fields as
// attributes named as their JSON tags: run, source_kind, source_id,
// target_kind, target_id (N), parent_id (N), op, status, payload_hash, source_hash,
// previous (S, the JSON byte for byte), target_update_time, created_at and
// updated_at (S, RFC 3339 with nanoseconds), and expires_at (N) only when
// ExpiresAt is set. Empty strings and zero numbers are left out.
//
// Keys starting with '#' are reserved (ledger entry keys never start with
// one) for two kinds of item without a seq attribute, which therefore stay
// out of the sparse by_seq index:
//
//	sk = "#seq"          n (N): the migration's Seq counter, raised with ADD
//	sk = "#meta#<name>"  value (B): a meta value
//
// # Consistency
//
// Begin takes the next Seq from the counter and then puts the entry on
// condition that the key is free; if it is not, the taken number is never
// used, so Seq increases strictly within a migration but is not gap-free.
// A failed condition returns the stored item with it
// (ReturnValuesOnConditionCheckFailure), so Begin of a taken key and a
// refused Update cost no extra read. Update is an UpdateItem, not a
// PutItem, conditioned on the item existing with the expected status: it
// sets every other attribute and never touches seq or created_at, so a
// caller's stale or zero Seq cannot move an entry in the index. Get, GetMeta and List read consistently (an LSI allows
// strongly consistent queries). Items past expires_at may still be read
// until DynamoDB's TTL sweep deletes them, typically within days.
//
// An LSI limits one migration (one partition key) to 10 GB of items, about
// ten million entries.
package dynamoledger

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/conveyor-migrate/conveyor/internal/ledger"
	"github.com/conveyor-migrate/conveyor/internal/ledger/internal/record"
)

// Store is a ledger.Store in a DynamoDB table. Call New to make one.
type Store struct {
	client *dynamodb.Client
	table  string
	now    func() time.Time
	// pageSize is the Limit of each List query; 0 lets DynamoDB fill 1 MB
	// pages. Tests make it small to exercise pagination.
	pageSize int32
}

var _ ledger.Store = (*Store)(nil)

// New returns a Store on the table, which must exist with the layout in the
// package comment (see CreateTable). It makes no request.
func New(client *dynamodb.Client, table string) *Store {
	return &Store{client: client, table: table, now: time.Now}
}

// Begin records e as pending with the next Seq of its migration. If the key
// is taken it returns the stored entry and an error wrapping
// ledger.ErrExists, having stored nothing (but used up a Seq number). It
// returns an error for an invalid migration or key, Previous that is not
// JSON, or a failed request.
func (s *Store) Begin(ctx context.Context, e ledger.Entry) (ledger.Entry, error) {
	e, err := record.ForBegin(e, s.now())
	if err != nil {
		return ledger.Entry{}, fmt.Errorf("dynamoledger: begin: %w", err)
	}
	if e.Seq, err = s.nextSeq(ctx, e.Migration); err != nil {
		return ledger.Entry{}, fmt.Errorf("dynamoledger: begin %s/%s: %w", e.Migration, e.Key, err)
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                           &s.table,
		Item:                                entryItem(e),
		ConditionExpression:                 aws.String("attribute_not_exists(#sk)"),
		ExpressionAttributeNames:            map[string]string{"#sk": attrSK},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if ccf := (*types.ConditionalCheckFailedException)(nil); errors.As(err, &ccf) {
		existing, err := s.existing(ctx, ccf, e.Migration, e.Key)
		if err != nil {
			return ledger.Entry{}, fmt.Errorf("dynamoledger: begin %s/%s: key taken, reading it: %w", e.Migration, e.Key, err)
		}
		return existing, fmt.Errorf("dynamoledger: begin %s/%s: %w", e.Migration, e.Key, ledger.ErrExists)
	}
	if err != nil {
		return ledger.Entry{}, fmt.Errorf("dynamoledger: begin %s/%s: put: %w", e.Migration, e.Key, err)
	}
	return e, nil
}

// existing returns the entry that made a conditional write fail: the item
// DynamoDB returned with the failure, or, from a server that returns none,
// a consistent read. It returns an error wrapping ledger.ErrNotFound if
// there is no entry.
func (s *Store) existing(ctx context.Context, ccf *types.ConditionalCheckFailedException, migration, key string) (ledger.Entry, error) {
	if len(ccf.Item) > 0 {
		return entryFromItem(ccf.Item)
	}
	return s.get(ctx, migration, key)
}

// nextSeq raises the migration's counter by one and returns its new value.
func (s *Store) nextSeq(ctx context.Context, migration string) (int64, error) {
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       itemKey(migration, skSeq),
		UpdateExpression:          aws.String("ADD #n :one"),
		ExpressionAttributeNames:  map[string]string{"#n": attrCounter},
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": &types.AttributeValueMemberN{Value: "1"}},
		ReturnValues:              types.ReturnValueUpdatedNew,
	})
	if err != nil {
		return 0, fmt.Errorf("next seq: %w", err)
	}
	n, err := numberAttr(out.Attributes, attrCounter)
	if err != nil {
		return 0, fmt.Errorf("next seq: %w", err)
	}
	if n <= 0 {
		return 0, fmt.Errorf("next seq: counter is %d", n)
	}
	return n, nil
}

// Get returns the entry, or an error wrapping ledger.ErrNotFound.
func (s *Store) Get(ctx context.Context, migration, key string) (ledger.Entry, error) {
	e, err := s.get(ctx, migration, key)
	if err != nil {
		return ledger.Entry{}, fmt.Errorf("dynamoledger: get %s/%s: %w", migration, key, err)
	}
	return e, nil
}

func (s *Store) get(ctx context.Context, migration, key string) (ledger.Entry, error) {
	if record.CheckNames(migration, key) != nil {
		// Not a name Begin accepts (or a reserved item): no such entry.
		return ledger.Entry{}, ledger.ErrNotFound
	}
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &s.table,
		Key:            itemKey(migration, key),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return ledger.Entry{}, err
	}
	if len(out.Item) == 0 {
		return ledger.Entry{}, ledger.ErrNotFound
	}
	return entryFromItem(out.Item)
}

// Update replaces the entry if its status is from, keeping its Seq and
// CreatedAt and setting UpdatedAt. It returns an error wrapping
// ledger.ErrNotFound if there is no entry, ledger.ErrConflict if its status
// is not from, or the failed request's error.
func (s *Store) Update(ctx context.Context, from ledger.Status, e ledger.Entry) error {
	e, err := record.CheckUpdate(e)
	if err != nil {
		return fmt.Errorf("dynamoledger: update: %w", err)
	}
	e.UpdatedAt = s.now().UTC()
	in := updateInput(e)
	in.TableName = &s.table
	in.ConditionExpression = aws.String("attribute_exists(#sk) AND #status = :from")
	in.ExpressionAttributeNames["#sk"] = attrSK
	in.ExpressionAttributeValues[":from"] = &types.AttributeValueMemberS{Value: string(from)}
	in.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
	_, err = s.client.UpdateItem(ctx, in)
	if ccf := (*types.ConditionalCheckFailedException)(nil); errors.As(err, &ccf) {
		cur, err := s.existing(ctx, ccf, e.Migration, e.Key)
		if err != nil {
			return fmt.Errorf("dynamoledger: update %s/%s: %w", e.Migration, e.Key, err)
		}
		return fmt.Errorf("dynamoledger: update %s/%s from %s (is %s): %w", e.Migration, e.Key, from, cur.Status, ledger.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("dynamoledger: update %s/%s: %w", e.Migration, e.Key, err)
	}
	return nil
}

// List calls fn for every entry of the migration, newest Seq first, querying
// the by_seq index page by page; fn may write to the Store. It returns fn's
// first error, or the error of a failed query (including ctx's).
func (s *Store) List(ctx context.Context, migration string, fn func(ledger.Entry) error) error {
	return s.ListBefore(ctx, migration, 0, fn)
}

// ListBefore is List of the entries whose Seq is below before (all of them
// when before <= 0): the key condition starts the query there, so the
// entries above it are not read (nor paid for).
func (s *Store) ListBefore(ctx context.Context, migration string, before int64, fn func(ledger.Entry) error) error {
	in := &dynamodb.QueryInput{
		TableName:                 &s.table,
		IndexName:                 aws.String(IndexBySeq),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: migration}},
		ScanIndexForward:          aws.Bool(false),
		ConsistentRead:            aws.Bool(true),
	}
	if before > 0 {
		in.KeyConditionExpression = aws.String("#pk = :pk AND #seq < :before")
		in.ExpressionAttributeNames["#seq"] = attrSeq
		in.ExpressionAttributeValues[":before"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(before, 10)}
	}
	if s.pageSize > 0 {
		in.Limit = aws.Int32(s.pageSize)
	}
	pages := dynamodb.NewQueryPaginator(s.client, in)
	for pages.HasMorePages() {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("dynamoledger: list %s: %w", migration, err)
		}
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("dynamoledger: list %s: %w", migration, err)
		}
		for _, item := range page.Items {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("dynamoledger: list %s: %w", migration, err)
			}
			e, err := entryFromItem(item)
			if err != nil {
				return fmt.Errorf("dynamoledger: list %s: %w", migration, err)
			}
			if err := fn(e); err != nil {
				return err
			}
		}
	}
	return nil
}

// PutMeta stores value under name, replacing any earlier value.
func (s *Store) PutMeta(ctx context.Context, migration, name string, value []byte) error {
	if err := record.CheckMeta(migration, name); err != nil {
		return fmt.Errorf("dynamoledger: put meta: %w", err)
	}
	item := itemKey(migration, skMetaPrefix+name)
	item[attrValue] = &types.AttributeValueMemberB{Value: value}
	if _, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item}); err != nil {
		return fmt.Errorf("dynamoledger: put meta %s/%s: %w", migration, name, err)
	}
	return nil
}

// GetMeta returns the value stored under name, or an error wrapping
// ledger.ErrNotFound.
func (s *Store) GetMeta(ctx context.Context, migration, name string) ([]byte, error) {
	if record.CheckMeta(migration, name) != nil {
		return nil, fmt.Errorf("dynamoledger: get meta %s/%s: %w", migration, name, ledger.ErrNotFound)
	}
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &s.table,
		Key:            itemKey(migration, skMetaPrefix+name),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("dynamoledger: get meta %s/%s: %w", migration, name, err)
	}
	if len(out.Item) == 0 {
		return nil, fmt.Errorf("dynamoledger: get meta %s/%s: %w", migration, name, ledger.ErrNotFound)
	}
	b, ok := out.Item[attrValue].(*types.AttributeValueMemberB)
	if !ok {
		return nil, fmt.Errorf("dynamoledger: get meta %s/%s: no binary %s attribute", migration, name, attrValue)
	}
	return append([]byte{}, b.Value...), nil
}

// Close does nothing: the client belongs to the caller.
func (s *Store) Close() error { return nil }

func numberAttr(item map[string]types.AttributeValue, name string) (int64, error) {
	av, ok := item[name]
	if !ok {
		return 0, fmt.Errorf("no %s attribute", name)
	}
	n, ok := av.(*types.AttributeValueMemberN)
	if !ok {
		return 0, fmt.Errorf("%s attribute is %T, not a number", name, av)
	}
	v, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s attribute: %w", name, err)
	}
	return v, nil
}
