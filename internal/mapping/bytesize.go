package mapping

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ByteSize is a number of bytes, written in the configuration as "25MB",
// "25 MiB", "500KB" or "1048576".
//
// KB, MB and GB count in 1024s, exactly like KiB, MiB and GiB: "25MB" is
// 25 × 1,048,576 bytes. File sizes in operating systems and email clients are
// usually shown this way, and an operations lead comparing a limit with a file
// they can see should not be caught out by the 5% difference.
type ByteSize int64

// Units of ByteSize.
const (
	KB ByteSize = 1 << 10
	MB ByteSize = 1 << 20
	GB ByteSize = 1 << 30
)

var byteUnits = map[string]ByteSize{
	"": 1, "b": 1, "byte": 1, "bytes": 1,
	"k": KB, "kb": KB, "kib": KB,
	"m": MB, "mb": MB, "mib": MB,
	"g": GB, "gb": GB, "gib": GB,
}

// ParseByteSize reads a size: a whole or decimal number, optional space, and an
// optional unit B, KB, MB or GB (KiB, MiB, GiB and K, M, G are the same), in
// any case. A fraction of a unit is rounded down to whole bytes. It returns an
// error for anything else, for negative sizes, and for sizes that do not fit in
// an int64.
func ParseByteSize(s string) (ByteSize, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	mult, ok := byteUnits[unit]
	if num == "" || !ok {
		return 0, fmt.Errorf("%q is not a size: write a number of bytes, or a number with KB, MB or GB (e.g. 25MB)", s)
	}
	whole, frac, hasFrac := strings.Cut(num, ".")
	if hasFrac && (strings.Contains(frac, ".") || mult == 1 || whole == "" && frac == "") {
		return 0, fmt.Errorf("%q is not a size: write a whole number of bytes, or a number with KB, MB or GB (e.g. 1.5MB)", s)
	}
	n := int64(0)
	if whole != "" {
		var err error
		n, err = strconv.ParseInt(whole, 10, 64)
		if err != nil || n > math.MaxInt64/int64(mult) {
			return 0, fmt.Errorf("%q is too large a size", s)
		}
	}
	n *= int64(mult)
	if frac != "" {
		f, err := strconv.ParseFloat("0."+frac, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a size", s)
		}
		extra := int64(f * float64(mult))
		if n > math.MaxInt64-extra {
			return 0, fmt.Errorf("%q is too large a size", s)
		}
		n += extra
	}
	return ByteSize(n), nil
}

// String writes the size in the largest unit that holds it exactly: "25MB",
// "500KB", "1023B".
func (b ByteSize) String() string {
	for _, u := range []struct {
		size ByteSize
		name string
	}{{GB, "GB"}, {MB, "MB"}, {KB, "KB"}} {
		if b != 0 && b%u.size == 0 {
			return strconv.FormatInt(int64(b/u.size), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(b), 10) + "B"
}

// MarshalText writes the size as String does, so YAML and JSON show "25MB".
func (b ByteSize) MarshalText() ([]byte, error) {
	return []byte(b.String()), nil
}

// UnmarshalText reads a size as ParseByteSize does and returns its error.
func (b *ByteSize) UnmarshalText(text []byte) error {
	v, err := ParseByteSize(string(text))
	if err != nil {
		return err
	}
	*b = v
	return nil
}
