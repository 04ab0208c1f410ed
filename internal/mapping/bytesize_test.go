package mapping

import (
	"math"
	"strings"
	"testing"
)

func TestParseByteSize(t *testing.T) {
	tests := []struct {
		in      string
		want    ByteSize
		wantErr string
	}{
		{in: "25MB", want: 25 * MB},
		{in: "25 MiB", want: 25 * MB},
		{in: "25mb", want: 25 * MB},
		{in: "25M", want: 25 * MB},
		{in: "500KB", want: 500 * KB},
		{in: "500 kib", want: 500 * KB},
		{in: "2GB", want: 2 * GB},
		{in: "2 GiB", want: 2 * GB},
		{in: "1048576", want: MB},
		{in: "1048576 bytes", want: MB},
		{in: "100B", want: 100},
		{in: " 7 ", want: 7},
		{in: "1.5MB", want: MB + MB/2},
		{in: ".5KB", want: 512},
		{in: "0", want: 0},
		{in: "", wantErr: "is not a size"},
		{in: "MB", wantErr: "is not a size"},
		{in: "25 XB", wantErr: "is not a size"},
		{in: "-1MB", wantErr: "is not a size"},
		{in: "1.5", wantErr: "whole number of bytes"},
		{in: "1.2.3MB", wantErr: "not a size"},
		{in: ".MB", wantErr: "not a size"},
		{in: "9223372036854775807", want: math.MaxInt64},
		{in: "9223372036854775808", wantErr: "too large"},
		{in: "9000000000GB", wantErr: "too large"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseByteSize(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("ParseByteSize(%q) = %v, %v; want an error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ParseByteSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestByteSizeString(t *testing.T) {
	tests := []struct {
		in   ByteSize
		want string
	}{
		{25 * MB, "25MB"},
		{500 * KB, "500KB"},
		{2 * GB, "2GB"},
		{1024 * GB, "1024GB"},
		{MB + MB/2, "1536KB"},
		{1023, "1023B"},
		{0, "0B"},
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("ByteSize(%d).String() = %q, want %q", int64(tt.in), got, tt.want)
		}
		back, err := ParseByteSize(tt.in.String())
		if err != nil || back != tt.in {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d", tt.in.String(), back, err, tt.in)
		}
	}
	var b ByteSize
	if err := b.UnmarshalText([]byte("3 MiB")); err != nil || b != 3*MB {
		t.Errorf("UnmarshalText(3 MiB) = %v, %v", b, err)
	}
	if err := b.UnmarshalText([]byte("lots")); err == nil {
		t.Errorf("UnmarshalText(lots) succeeded")
	}
}
