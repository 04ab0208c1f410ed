package sampleexport

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/perfectportal"
)

type docKind struct {
	category, name, contentType string
	pdf                         bool
}

var docKinds = []docKind{
	{"contract", "Contract.pdf", "application/pdf", true},
	{"contract", "TR1 Transfer.pdf", "application/pdf", true},
	{"contract", "Client Care Letter.txt", "text/plain", false},
	{"ID", "Passport - %s.pdf", "application/pdf", true},
	{"ID", "Driving Licence - %s.pdf", "application/pdf", true},
	{"searches", "Local Authority Search.pdf", "application/pdf", true},
	{"searches", "Drainage and Water Search.pdf", "application/pdf", true},
	{"mortgage offer", "Mortgage Offer.pdf", "application/pdf", true},
}

func (g *gen) matterDocuments(m *matterState) error {
	n := 0
	switch p := g.r.Float64(); {
	case p < 0.2:
	case p < 0.5:
		n = 1
	case p < 0.8:
		n = 2
	default:
		n = 3
	}
	if g.opt.DocumentsPerMatter > 0 {
		n = g.opt.DocumentsPerMatter
	}
	docPlant := g.plant.pickOf(m.due, "document_missing", "document_checksum")
	if docPlant != "" && n == 0 {
		n = 1
	}
	kinds := g.r.Perm(len(docKinds))
	tx := g.texts(m)
	written := 0
	for _, k := range kinds {
		if written == n {
			break
		}
		kind := docKinds[k]
		if kind.category == "mortgage offer" && m.lender == "" {
			continue
		}
		name := kind.name
		if strings.Contains(name, "%s") {
			name = fmt.Sprintf(name, tx.c.first+" "+tx.c.last)
		}
		title := strings.TrimSuffix(strings.TrimSuffix(name, ".pdf"), ".txt")
		rel := documentPath(m.id, name)
		content := []byte(tx.letter(title))
		content = g.d.revise(rel, content) // a newer export's changed document
		if kind.pdf {
			content = pdfLike(title, content)
		}
		var sum string
		switch plant := docPlant; {
		case plant == "document_missing" && written == 0:
			s := sha256.Sum256(content) // the row is right; the file never arrived
			sum = hex.EncodeToString(s[:])
			g.plant.done(plant)
		case plant == "document_checksum" && written == 0:
			if _, err := g.b.document(rel, content); err != nil {
				return err
			}
			s := sha256.Sum256(append(content, '\n')) // the row describes another version of the file
			sum = hex.EncodeToString(s[:])
			g.plant.done(plant)
		default:
			var err error
			if sum, err = g.b.document(rel, content); err != nil {
				return err
			}
		}
		if err := g.documentRow(m, kind, name, rel, int64(len(content)), sum); err != nil {
			return err
		}
		written++
	}
	if k, ok := g.large[m.i]; ok {
		return g.largeDocument(m, k)
	}
	return nil
}

func (g *gen) documentRow(m *matterState, kind docKind, name, rel string, size int64, sum string) error {
	uploaded := g.beforeNow(g.workTime(m.created.Add(time.Duration(g.r.Float64() * float64(m.end.Sub(m.created))))))
	if uploaded.Before(m.created) {
		uploaded = m.created.Add(time.Hour)
	}
	g.nDocuments++
	return g.b.row(perfectportal.TableDocuments, []string{fmt.Sprintf("D%07d", g.nDocuments), m.id, name, rel,
		strconv.FormatInt(size, 10), sum, kind.contentType, kind.category, rfc3339(uploaded), m.fe.id})
}

// pdfLike wraps text in the skeleton of a PDF: enough for anything that
// sniffs the header or the trailer, not a file a viewer will open.
func pdfLike(title string, text []byte) []byte {
	var b strings.Builder
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n")
	b.WriteString("2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n")
	b.WriteString("3 0 obj\n<< /Type /Page /Parent 2 0 R /Contents 4 0 R /Title (" + title + ") >>\nendobj\n")
	b.WriteString("4 0 obj\n<< /Length " + strconv.Itoa(len(text)) + " >>\nstream\n")
	b.Write(text)
	b.WriteString("\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")
	return []byte(b.String())
}

// largeDocument writes document k of the large ones: even ones are text a
// compressor shrinks well, odd ones pseudo-random bytes it cannot.
func (g *gen) largeDocument(m *matterState, k int) error {
	size := g.opt.LargeDocumentBytes
	kind := docKind{"contract", "Lease and Title Deeds.pdf", "application/pdf", true}
	fill := func(w io.Writer) error { return compressibleText(w, size, g.opt.Seed, k) }
	if k%2 == 1 {
		kind = docKind{"searches", "Searches Bundle (scanned).pdf", "application/pdf", true}
		fill = func(w io.Writer) error { return randomBytes(w, size, g.opt.Seed, k) }
	}
	rel := documentPath(m.id, kind.name)
	n, sum, err := g.b.streamDocument(rel, fill)
	if err != nil {
		return err
	}
	return g.documentRow(m, kind, kind.name, rel, n, sum)
}

// compressibleText writes exactly size bytes of numbered lease clauses.
func compressibleText(w io.Writer, size, seed int64, k int) error {
	r := rand.New(rand.NewPCG(uint64(seed), uint64(k)+1))
	bw := bufio.NewWriterSize(w, 64<<10)
	var line []byte
	written := int64(0)
	for clause := 1; written < size; clause++ {
		line = line[:0]
		if clause == 1 {
			line = append(line, "%PDF-1.4\n"...)
		}
		line = fmt.Appendf(line, "%d.%d The Tenant covenants with the Landlord to pay the rent of £%d a year, to keep the Property in good and substantial repair, and not to assign part only of it.\n",
			clause/20+1, clause%20+1, 100+r.IntN(400))
		if rem := size - written; int64(len(line)) > rem {
			line = line[:rem]
		}
		if _, err := bw.Write(line); err != nil {
			return err
		}
		written += int64(len(line))
	}
	return bw.Flush()
}

// randomBytes writes exactly size bytes: a PDF header, then noise, as a
// scanned document looks to a compressor.
func randomBytes(w io.Writer, size, seed int64, k int) error {
	r := rand.New(rand.NewPCG(uint64(seed), uint64(k)+1))
	buf := make([]byte, 64<<10)
	header := []byte("%PDF-1.7\n")
	written := int64(0)
	for written < size {
		for i := 0; i+8 <= len(buf); i += 8 {
			binary.LittleEndian.PutUint64(buf[i:], r.Uint64())
		}
		if written == 0 {
			copy(buf, header)
		}
		chunk := buf
		if rem := size - written; int64(len(chunk)) > rem {
			chunk = chunk[:rem]
		}
		if _, err := w.Write(chunk); err != nil {
			return err
		}
		written += int64(len(chunk))
	}
	return nil
}

// writeTemplates writes the firm's stage-change notifications: an email
// and a text to clients, an email to referrers, for each stage.
func (g *gen) writeTemplates() error {
	n := 0
	row := func(name, channel, stage, audience, subject, body string, active bool) error {
		n++
		return g.b.row(perfectportal.TableTemplates, []string{fmt.Sprintf("T%03d", n), name, channel, stage, audience,
			subject, body, g.boolean(active)})
	}
	for _, stage := range stages {
		lower := strings.ToLower(stage)
		if err := row(stage+" – client email", "email", stage, "client",
			"Your {{matter_type}} of {{property_address}}: "+lower,
			"Dear {{client_title}} {{client_last_name}},\n\nYour matter has moved to \""+stage+"\". "+templateNews[stage]+"\n\nIf you have any questions, please call {{fee_earner_name}} on {{fee_earner_phone}}.\n\nKind regards,\n{{fee_earner_name}}\n{{firm_name}}", true); err != nil {
			return err
		}
		if err := row(stage+" – client SMS", "sms", stage, "client", "",
			"Hi {{client_first_name}}, your "+"{{matter_type}} has reached "+lower+". {{firm_name}}", stage != "Compliance"); err != nil {
			return err
		}
		if err := row(stage+" – referrer update", "email", stage, "referrer",
			"{{matter_number}}: "+lower+" ({{client_last_name}})",
			"Hello {{referrer_first_name}},\n\nAn update on {{client_title}} {{client_last_name}}, {{property_address}}: the matter is now at \""+stage+"\".\n\nThanks for the referral,\n{{firm_name}}", true); err != nil {
			return err
		}
	}
	return row("Exchange – referrer SMS", "sms", "Compliance", "referrer", "",
		"{{client_last_name}}, {{property_address}}: contracts exchanged, completion {{completion_date}}.", false)
}

var templateNews = map[string]string{
	"Instructed": "Thank you for choosing us; we will now open your file and write to you with our client care letter.",
	"Searches":   "We have ordered your searches, which usually take two to three weeks.",
	"Compliance": "We are now checking the title, the searches and the mortgage offer, and raising enquiries.",
	"Completion": "Congratulations, completion has taken place!",
}
