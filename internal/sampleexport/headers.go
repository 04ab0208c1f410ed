package sampleexport

import (
	"slices"

	"github.com/conveyor-migrate/conveyor/internal/perfectportal"
)

// customMatterColumns are the firm's own matter properties, after the
// format's matters columns.
var customMatterColumns = []string{
	perfectportal.CustomColumnPrefix + "Lender Ref",
	perfectportal.CustomColumnPrefix + "Tenure",
}

// messyHeaders are the spellings a messy extract uses instead of the
// format's column names. Some only differ in case and spacing (the reader
// matches those itself); the others ("Case ID", " Forename"…) need an alias
// in the mapping configuration.
var messyHeaders = map[string]map[string]string{
	perfectportal.TableMatters: {
		"matter_id": "Case ID", "matter_number": "Matter Ref", "description": "Matter Description",
		"matter_type": "Matter Type", "lead_source": "Lead Source", "fee_earner_id": "Fee Earner",
		"status": "Status", "key_stage": "Current Stage", "property_address": "Property Address",
		"property_postcode": "Property Postcode", "purchase_price": "Purchase Price", "legal_fee": "Legal Fee",
		"currency": "Currency", "mortgage_lender": "Mortgage Lender", "referring_solicitor": "Referring Solicitor",
		"expected_completion_date": "Expected Completion Date", "created_at": "Created At", "updated_at": "Updated At",
	},
	perfectportal.TableClients: {
		"client_id": "Client ID", "title": "Title", "first_name": " Forename", "last_name": "Surname",
		"email": "Email Address", "phone": "Phone", "mobile": "Mobile-Phone", "town": "Town",
		"county": "County", "postcode": "Post Code", "country": "Country", "organisation_id": "Organisation ID",
		"created_at": "Created At", "updated_at": "Updated At",
	},
	perfectportal.TableActivities: {
		"activity_id": "Activity ID", "matter_id": "Matter ID", "type": "Activity Type", "direction": "Direction",
		"subject": "Subject", "body": "Body", "occurred_at": "Occurred At", "duration_minutes": "Duration Minutes",
		"fee_earner_id": "Fee Earner ID", "done": "Done",
	},
}

// Columns returns the columns this package writes for a table, in order:
// the format's columns, and for matters the custom ones after them. It
// returns nil for a table format 1 does not define.
func Columns(table string) []string {
	spec, ok := perfectportal.Spec(table)
	if !ok {
		return nil
	}
	cols := slices.Clone(spec.Columns)
	if table == perfectportal.TableMatters {
		cols = append(cols, customMatterColumns...)
	}
	return cols
}

// Headers returns the header row as written for a table: Columns, or in
// messy mode the spellings a real extract uses ("Case ID", " Forename",
// "Created At"…). It returns nil for a table format 1 does not define.
func Headers(table string, messy bool) []string {
	cols := Columns(table)
	if !messy {
		return cols
	}
	for i, c := range cols {
		if h, ok := messyHeaders[table][c]; ok {
			cols[i] = h
		}
	}
	return cols
}

// valueKind says how a column's value is typed in NDJSON and xlsx.
type valueKind uint8

const (
	kindText valueKind = iota
	kindInt
	kindMoney
	kindBool
)

func columnKind(col string) valueKind {
	switch col {
	case "active", "is_lead", "done":
		return kindBool
	case "size_bytes", "duration_minutes":
		return kindInt
	case "purchase_price", "legal_fee", "referral_fee":
		return kindMoney
	}
	return kindText
}
