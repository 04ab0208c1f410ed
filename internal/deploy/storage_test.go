package deploy

import (
	"slices"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/conveyor-migrate/conveyor/internal/ledger/dynamoledger"
)

func TestBucket(t *testing.T) {
	b := resource(t, "Bucket", "AWS::S3::Bucket")
	if b["DeletionPolicy"] != "Retain" || b["UpdateReplacePolicy"] != "Retain" {
		t.Errorf("Bucket: DeletionPolicy %v, UpdateReplacePolicy %v; want Retain (it holds the exports and reports)", b["DeletionPolicy"], b["UpdateReplacePolicy"])
	}
	p := asObj(b["Properties"])
	rules := asList(get(p, "BucketEncryption", "ServerSideEncryptionConfiguration"))
	if len(rules) != 1 {
		t.Fatalf("Bucket: ServerSideEncryptionConfiguration = %s", render(rules))
	}
	algs := map[string]string{}
	for _, br := range branches(get(rules[0], "ServerSideEncryptionByDefault")) {
		cond := "default"
		if len(br.when) > 0 {
			cond = br.when[0]
		}
		algs[cond] = render(get(br.v, "SSEAlgorithm"))
		if algs[cond] == "aws:kms" && render(get(br.v, "KMSMasterKeyID")) != "!Ref KmsKeyArn" {
			t.Errorf("Bucket: SSE-KMS without the KmsKeyArn key: %s", render(br.v))
		}
	}
	if algs["HasKmsKey"] != "aws:kms" || algs["!HasKmsKey"] != "AES256" {
		t.Errorf("Bucket: encryption %v; want SSE-KMS with the key when HasKmsKey, SSE-S3 (AES256) otherwise", algs)
	}
	for _, k := range []string{"BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"} {
		if get(p, "PublicAccessBlockConfiguration", k) != true {
			t.Errorf("Bucket: PublicAccessBlockConfiguration.%s is not true", k)
		}
	}
	if got := render(get(p, "VersioningConfiguration", "Status")); got != "Enabled" {
		t.Errorf("Bucket: versioning %q", got)
	}
	if rs := asList(get(p, "OwnershipControls", "Rules")); len(rs) != 1 || render(get(rs[0], "ObjectOwnership")) != "BucketOwnerEnforced" {
		t.Errorf("Bucket: OwnershipControls = %s, want BucketOwnerEnforced", render(rs))
	}
	if get(p, "NotificationConfiguration", "EventBridgeConfiguration", "EventBridgeEnabled") != true {
		t.Errorf("Bucket: EventBridge notifications are off; the upload trigger needs them")
	}
	var staged, noncurrent bool
	for _, r := range asList(get(p, "LifecycleConfiguration", "Rules")) {
		if render(get(r, "Status")) != "Enabled" {
			continue
		}
		if render(get(r, "Prefix")) == "migrations/" && render(get(r, "ExpirationInDays")) == "!Ref StagedRetentionDays" {
			staged = true
		}
		if get(r, "NoncurrentVersionExpiration", "NoncurrentDays") == 30.0 && get(r, "Prefix") == nil && get(r, "Filter") == nil {
			noncurrent = true
		}
	}
	if !staged {
		t.Errorf("Bucket: no lifecycle rule expiring migrations/ after StagedRetentionDays")
	}
	if !noncurrent {
		t.Errorf("Bucket: no lifecycle rule expiring noncurrent versions after 30 days, bucket-wide")
	}

	// TLS only.
	pol := resource(t, "BucketPolicy", "AWS::S3::BucketPolicy")
	if got := render(get(pol, "Properties", "Bucket")); got != "!Ref Bucket" {
		t.Errorf("BucketPolicy is on %s", got)
	}
	tls := false
	for _, st := range policyStatements("BucketPolicy", get(pol, "Properties", "PolicyDocument")) {
		if isTLSDeny(st) && render(st.s["Principal"]) == "*" &&
			slices.Equal(st.resources(), []string{"!GetAtt Bucket.Arn", "!Sub ${Bucket.Arn}/*"}) {
			tls = true
		}
	}
	if !tls {
		t.Errorf("BucketPolicy: no Deny of s3:* to everyone on the bucket and its objects when aws:SecureTransport is false")
	}
}

// The ledger table is the one dynamoledger.CreateTable makes.
func TestLedgerTable(t *testing.T) {
	tbl := resource(t, "LedgerTable", "AWS::DynamoDB::Table")
	if tbl["DeletionPolicy"] != "Retain" || tbl["UpdateReplacePolicy"] != "Retain" {
		t.Errorf("LedgerTable: DeletionPolicy %v, UpdateReplacePolicy %v; want Retain (rollback needs it)", tbl["DeletionPolicy"], tbl["UpdateReplacePolicy"])
	}
	p := asObj(tbl["Properties"])
	def := dynamoledger.TableDefinition("ledger")

	if got := render(p["BillingMode"]); got != string(def.BillingMode) {
		t.Errorf("LedgerTable: BillingMode %s, want %s", got, def.BillingMode)
	}
	var attrs, wantAttrs []string
	for _, a := range asList(p["AttributeDefinitions"]) {
		attrs = append(attrs, render(get(a, "AttributeName"))+" "+render(get(a, "AttributeType")))
	}
	for _, a := range def.AttributeDefinitions {
		wantAttrs = append(wantAttrs, aws.ToString(a.AttributeName)+" "+string(a.AttributeType))
	}
	sort.Strings(attrs)
	sort.Strings(wantAttrs)
	if !slices.Equal(attrs, wantAttrs) {
		t.Errorf("LedgerTable: AttributeDefinitions %v, want %v", attrs, wantAttrs)
	}
	keys := func(v any) (out []string) {
		for _, k := range asList(v) {
			out = append(out, render(get(k, "AttributeName"))+" "+render(get(k, "KeyType")))
		}
		return out
	}
	var wantKeys []string
	for _, k := range def.KeySchema {
		wantKeys = append(wantKeys, aws.ToString(k.AttributeName)+" "+string(k.KeyType))
	}
	if got := keys(p["KeySchema"]); !slices.Equal(got, wantKeys) {
		t.Errorf("LedgerTable: KeySchema %v, want %v", got, wantKeys)
	}
	lsis := asList(p["LocalSecondaryIndexes"])
	if len(lsis) != len(def.LocalSecondaryIndexes) {
		t.Fatalf("LedgerTable: %d local secondary indexes, want %d", len(lsis), len(def.LocalSecondaryIndexes))
	}
	for i, want := range def.LocalSecondaryIndexes {
		var wantKeys []string
		for _, k := range want.KeySchema {
			wantKeys = append(wantKeys, aws.ToString(k.AttributeName)+" "+string(k.KeyType))
		}
		got := lsis[i]
		if render(get(got, "IndexName")) != aws.ToString(want.IndexName) || !slices.Equal(keys(get(got, "KeySchema")), wantKeys) ||
			render(get(got, "Projection", "ProjectionType")) != string(want.Projection.ProjectionType) {
			t.Errorf("LedgerTable: index %s, want %s %v projection %s", render(got), aws.ToString(want.IndexName), wantKeys, want.Projection.ProjectionType)
		}
	}
	if render(get(p, "TimeToLiveSpecification", "AttributeName")) != dynamoledger.TTLAttribute || get(p, "TimeToLiveSpecification", "Enabled") != true {
		t.Errorf("LedgerTable: TimeToLiveSpecification = %s, want %s enabled", render(p["TimeToLiveSpecification"]), dynamoledger.TTLAttribute)
	}
	if get(p, "PointInTimeRecoverySpecification", "PointInTimeRecoveryEnabled") != true {
		t.Errorf("LedgerTable: point-in-time recovery is off")
	}
	if get(p, "SSESpecification", "SSEEnabled") != true || render(get(p, "SSESpecification", "SSEType")) != string(def.SSESpecification.SSEType) {
		t.Errorf("LedgerTable: SSESpecification = %s, want SSEEnabled and SSEType %s", render(p["SSESpecification"]), def.SSESpecification.SSEType)
	}
	if got := render(get(p, "SSESpecification", "KMSMasterKeyId")); got != `{"Fn::If":["HasKmsKey",{"Ref":"KmsKeyArn"},{"Ref":"AWS::NoValue"}]}` {
		t.Errorf("LedgerTable: KMSMasterKeyId = %s, want the customer key when one is given, else the AWS managed key", got)
	}
}
