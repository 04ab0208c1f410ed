package pipedrive

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestFieldSet(t *testing.T) {
	const a, b = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	var fields []Field
	if err := json.Unmarshal([]byte(`[
	 {"field_name":"Name","field_code":"name","field_type":"varchar","is_custom_field":false},
	 {"field_name":"Stage entered: Searches","field_code":"`+a+`","field_type":"date","is_custom_field":true},
	 {"field_name":"stage entered: searches ","field_code":"`+b+`","field_type":"date","is_custom_field":true},
	 {"field_name":"Matter type","field_code":"cccccccccccccccccccccccccccccccccccccccc","field_type":"enum","is_custom_field":true,
	  "options":[{"id":"31","label":"Purchase"},{"id":32,"label":" Sale "}]},
	 {"field_name":"name","field_code":"dddddddddddddddddddddddddddddddddddddddd","field_type":"varchar","is_custom_field":true}
	]`), &fields); err != nil {
		t.Fatal(err)
	}
	fs := NewFieldSet(DealFields, fields)
	tests := []struct {
		label, wantKey string
		ok             bool
	}{
		{"Stage entered: Searches", a, true},
		{"  STAGE ENTERED: SEARCHES", a, true},                     // the first of two custom fields
		{"Name", "dddddddddddddddddddddddddddddddddddddddd", true}, // custom wins over built-in
		{"Nothing", "", false},
	}
	for _, tc := range tests {
		if got, ok := fs.Key(tc.label); got != tc.wantKey || ok != tc.ok {
			t.Errorf("Key(%q) = %q, %v; want %q, %v", tc.label, got, ok, tc.wantKey, tc.ok)
		}
	}
	if got, ok := fs.Label(b); got != "stage entered: searches " || !ok {
		t.Errorf("Label(b) = %q, %v", got, ok)
	}
	for opt, want := range map[string]int{"purchase": 31, "SALE": 32} {
		if got, ok := fs.Option("matter type", opt); got != want || !ok {
			t.Errorf("Option(%q) = %d, %v; want %d", opt, got, ok, want)
		}
	}
	if _, ok := fs.Option("Matter type", "Remortgage"); ok {
		t.Errorf("Option(Remortgage) found")
	}
}

func TestCreateFieldRefusesBadInput(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int, _ []byte) { t.Error("request sent") })
	env := newTestClient(t, f)
	for _, in := range []FieldInput{{Name: "", Type: "varchar"}, {Name: "When", Type: "datetime"}, {Name: "X", Type: "varchar", Options: []string{"a"}}} {
		if _, err := env.c.CreateField(context.Background(), DealFields, in); err == nil {
			t.Errorf("CreateField(%+v) succeeded", in)
		}
	}
	if _, err := env.c.ListFields(context.Background(), FieldKind("product")); err == nil {
		t.Errorf("ListFields(product) succeeded")
	}
}

func TestTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
	}{
		{`"2021-01-01T10:11:12Z"`, time.Date(2021, 1, 1, 10, 11, 12, 0, time.UTC)},
		{`"2019-12-09 13:59:21"`, time.Date(2019, 12, 9, 13, 59, 21, 0, time.UTC)},
		{`""`, time.Time{}},
		{`null`, time.Time{}},
	}
	for _, tc := range tests {
		var got Time
		if err := json.Unmarshal([]byte(tc.in), &got); err != nil || !got.Equal(tc.want) {
			t.Errorf("Unmarshal(%s) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	b, _ := json.Marshal(At(time.Date(2024, 5, 6, 8, 8, 9, 500, time.FixedZone("BST", 3600))))
	if string(b) != `"2024-05-06T07:08:09Z"` {
		t.Errorf("Marshal = %s", b)
	}
}

// onceReader is a file body that is not an io.Seeker.
type onceReader struct{ r io.Reader }

func (o *onceReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// TestUploadRetry: a 503 after the body was read is retried only when the
// body can be rewound.
func TestUploadRetry(t *testing.T) {
	tests := []struct {
		name     string
		body     func() io.Reader
		wantReqs int
		wantOK   bool
	}{
		{"seekable body is rewound", func() io.Reader { return strings.NewReader("file body") }, 2, true},
		{"one-shot body is not retried", func() io.Reader { return &onceReader{strings.NewReader("file body")} }, 1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int, body []byte) {
				if !strings.Contains(string(body), "file body") {
					t.Errorf("request %d: body %q lacks the file", n, body)
				}
				if n == 0 {
					writeJSON(w, 503, errorJSON("Unavailable", ""))
					return
				}
				writeJSON(w, 200, ok(fileJSON))
			})
			env := newTestClient(t, f)
			_, err := env.c.UploadFile(context.Background(), FileInput{Name: "a.pdf", Body: tc.body(), DealID: 11})
			if got := len(f.requests()); got != tc.wantReqs {
				t.Errorf("%d requests, want %d", got, tc.wantReqs)
			}
			var ae *APIError
			if tc.wantOK && err != nil || !tc.wantOK && !(errors.As(err, &ae) && ae.Status == 503) {
				t.Errorf("err %v", err)
			}
		})
	}
}
