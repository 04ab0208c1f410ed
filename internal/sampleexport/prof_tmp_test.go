package sampleexport

import "testing"

func TestProfXLSXTmp(t *testing.T) {
	_, err := Write(t.TempDir(), Options{Matters: 10000, Format: FormatXLSX, LargeDocumentBytes: 1 << 16})
	if err != nil {
		t.Fatal(err)
	}
}
