package perfectportal

import (
	"encoding/json"
	"fmt"
	"strings"
)

// ManifestName is the file at the bundle root that describes the export.
const ManifestName = "manifest.json"

// Manifest is the bundle's manifest.json: what was exported, when, and a
// checksum and row count for each file.
type Manifest struct {
	Format     string                  `json:"format"`
	Version    int                     `json:"version"`
	ExportID   string                  `json:"export_id"`
	ExportedAt string                  `json:"exported_at"`
	Firm       string                  `json:"firm"`
	Encoding   string                  `json:"encoding"`
	Files      map[string]ManifestFile `json:"files"`
}

// ManifestFile is the manifest's record of one file. For a workbook, the
// key "export.xlsx" holds its checksum and "export.xlsx#<sheet>" the row
// count of each sheet.
type ManifestFile struct {
	SHA256   string `json:"sha256,omitempty"`
	Rows     *int   `json:"rows,omitempty"`
	Encoding string `json:"encoding,omitempty"`
}

// ParseManifest decodes manifest.json. It returns an error naming the
// problem when the JSON is malformed or the format or version is not one
// this reader knows.
func ParseManifest(data []byte) (*Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(strings.NewReader(string(data)))
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%s is not valid JSON (%v); fix or remove it", ManifestName, err)
	}
	if m.Format != "" && m.Format != "perfectportal-export" {
		return nil, fmt.Errorf("%s: format %q is not a Perfect Portal export (want \"perfectportal-export\")", ManifestName, m.Format)
	}
	if m.Version != 0 && m.Version != 1 {
		return nil, fmt.Errorf("%s: version %d is not supported; this reader knows format version 1", ManifestName, m.Version)
	}
	if m.Encoding != "" {
		if _, err := ParseEncoding(m.Encoding); err != nil {
			return nil, fmt.Errorf("%s: encoding: %v", ManifestName, err)
		}
	}
	for name, f := range m.Files {
		if f.Encoding != "" {
			if _, err := ParseEncoding(f.Encoding); err != nil {
				return nil, fmt.Errorf("%s: files.%s.encoding: %v", ManifestName, name, err)
			}
		}
		if f.Rows != nil && *f.Rows < 0 {
			return nil, fmt.Errorf("%s: files.%s.rows is negative", ManifestName, name)
		}
	}
	return &m, nil
}

// file returns the manifest's entry for name, matched without regard to case.
func (m *Manifest) file(name string) (ManifestFile, bool) {
	if m == nil {
		return ManifestFile{}, false
	}
	if f, ok := m.Files[name]; ok {
		return f, true
	}
	for k, f := range m.Files {
		if strings.EqualFold(k, name) {
			return f, true
		}
	}
	return ManifestFile{}, false
}
