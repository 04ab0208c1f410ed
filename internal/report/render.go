package report

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

//go:embed report.html.tmpl
var pageTemplate string

//go:embed report.css
var pageCSS string

//go:embed report.js
var pageJS string

// CSP is the Content-Security-Policy the report declares: nothing may be
// fetched, only the report's own inline styles and script run, and images
// are data: URLs at most.
const CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"

// FallbackRows is how many writes of the diff the HTML renders without
// scripts; with scripts, every write the diff holds is paged through.
const FallbackRows = 100

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"num":      num,
	"num64":    func(n int64) string { return num(int(n)) },
	"dec":      func(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) },
	"money":    moneyText,
	"bytes":    humanBytes,
	"hours":    hoursText,
	"when":     whenText,
	"join":     strings.Join,
	"upper":    strings.ToUpper,
	"title":    titleCase,
	"add":      func(a, b int) int { return a + b },
	"abs":      math.Abs,
	"newkey":   func(k string) bool { return strings.HasPrefix(k, "new:") },
	"pct":      pct,
	"status":   statusClass,
	"sevclass": func(s any) string { return "sev-" + fmt.Sprint(s) },
	"first":    firstOps,
	"rows":     func(op DiffOp) int { return max(1, len(op.Changes)) },
	"notes":    func(d *Data, id string) []string { return d.Notes[id] },
	"kindname": kindName,
	"bars":     barChartOf,
	"timeline": timelineChartOf,
	"sub":      func(a, b int) int { return a - b },
	"placeholder": func(c *Costs, name string) bool {
		for _, p := range c.Placeholders {
			if p == name {
				return true
			}
		}
		return false
	},
}).Parse(pageTemplate))

// view is what the template renders: the data and what the page needs.
type view struct {
	*Data
	CSS      template.CSS
	JS       template.JS
	CSP      string
	Sections []struct{ ID, Title string }
	Fallback int
	DiffOps  []DiffOp
}

// Render writes d as one self-contained HTML page: no external styles,
// scripts, fonts or images, a CSP that forbids fetching anything, charts
// as inline SVG, and every value from the export escaped as text.
func Render(w io.Writer, d *Data) error {
	v := view{Data: d, CSS: template.CSS(pageCSS), JS: template.JS(pageJS), CSP: CSP, Sections: Sections, Fallback: FallbackRows, DiffOps: []DiffOp{}}
	if d.Diff != nil && d.Diff.Ops != nil {
		v.DiffOps = d.Diff.Ops
	}
	var buf bytes.Buffer
	if err := page.Execute(&buf, v); err != nil {
		return fmt.Errorf("report: render: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

func firstOps(ops []DiffOp, n int) []DiffOp {
	if len(ops) > n {
		return ops[:n]
	}
	return ops
}

// num writes an integer with thousands separators: 12,345.
func num(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

var currencySymbols = map[string]string{"GBP": "£", "USD": "US$", "EUR": "€"}

// moneyText writes an amount with its currency: £1,234.50.
func moneyText(amount float64, currency string) string {
	sym, ok := currencySymbols[strings.ToUpper(currency)]
	if !ok {
		sym = currency + " "
	}
	neg := amount < 0
	amount = math.Abs(amount)
	whole := int(amount)
	pence := int(math.Round((amount - float64(whole)) * 100))
	if pence == 100 {
		whole, pence = whole+1, 0
	}
	s := fmt.Sprintf("%s%s.%02d", sym, num(whole), pence)
	if neg {
		return "−" + s
	}
	return s
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 3; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "KMGT"[exp])
}

func hoursText(h float64) string {
	switch {
	case h*60 < 1:
		return "under a minute"
	case h*60 < 1.5:
		return "1 minute"
	case h < 1:
		return fmt.Sprintf("%.0f minutes", h*60)
	}
	return fmt.Sprintf("%.1f hours", h)
}

// whenText writes an RFC 3339 time for people, in UTC.
func whenText(s string) string {
	if s == "" {
		return "—"
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	return t.UTC().Format("2 Jan 2006 15:04 UTC")
}

func pct(n, of int) string {
	if of == 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(n)/float64(of))
}

func statusClass(s string) string {
	switch s {
	case StatusSucceeded:
		return "ok"
	case StatusFailed:
		return "bad"
	case StatusStopped, StatusIncomplete, StatusWaiting:
		return "warn"
	}
	return "muted"
}

var kindNames = map[string]string{
	"organization": "Organizations", "person": "Persons", "deal": "Deals", "participant": "Deal participants", "activity": "Activities",
	"note": "Notes", "file": "Files", "deal_field": "Deal fields", "person_field": "Person fields", "organization_field": "Organization fields",
	"pipeline": "Pipelines", "stage": "Stages", "activity_type": "Activity types",
	"organisations": "Organisations", "persons": "Persons", "deals": "Deals", "activities": "Activities and notes", "documents": "Documents",
}

func kindName(k string) string {
	if n, ok := kindNames[k]; ok {
		return n
	}
	return k
}

// barChart is a horizontal bar chart, laid out for inline SVG.
type barChart struct {
	Title         string
	Width, Height int
	LabelWidth    int
	Bars          []chartBar
}

type chartBar struct {
	Label, Full   string
	Value         string
	Y, W, TextY   int
	ValueX, BarX  int
	BarHeight     int
	LabelTruncate bool
}

const (
	chartWidth = 560
	barRow     = 24
	barHeight  = 16
	labelWidth = 190
)

// barChartOf lays out counts (already in display order) as bars.
func barChartOf(title string, cs []Count) *barChart {
	if len(cs) == 0 {
		return nil
	}
	c := &barChart{Title: title, Width: chartWidth, LabelWidth: labelWidth, Height: len(cs)*barRow + 8}
	maxN := 0
	for _, x := range cs {
		maxN = max(maxN, x.N)
	}
	area := chartWidth - labelWidth - 60
	for i, x := range cs {
		w := 0
		if maxN > 0 {
			w = int(math.Round(float64(x.N) / float64(maxN) * float64(area)))
		}
		if x.N > 0 && w < 2 {
			w = 2
		}
		label := x.Name
		if r := []rune(label); len(r) > 28 {
			label = string(r[:27]) + "…"
		}
		y := 4 + i*barRow
		c.Bars = append(c.Bars, chartBar{Label: label, Full: x.Name, Value: num(x.N), Y: y, W: w, TextY: y + barHeight - 3,
			BarX: labelWidth, ValueX: labelWidth + w + 6, BarHeight: barHeight})
	}
	return c
}

// timelineChart is the run's cumulative tokens and requests over time.
type timelineChart struct {
	Width, Height         int
	Left, Right, Top, Bot int
	Tokens, Requests      string // polyline points
	MaxTokens, MaxReq     string
	Span                  string
	TokensEnd, ReqEnd     [2]int
	XTicks                []tick
}

type tick struct {
	X     int
	Label string
}

// timelineChartOf plots the cumulative tokens and requests of the run's
// load steps against the time since the first began; each line is scaled
// to its own total, so both end at the top right.
func timelineChartOf(steps []TimelineStep) *timelineChart {
	if len(steps) == 0 {
		return nil
	}
	c := &timelineChart{Width: chartWidth, Height: 220, Left: 48, Right: chartWidth - 110, Top: 16, Bot: 190}
	type pt struct {
		t        float64
		tok, req int
	}
	var t0 time.Time
	pts := []pt{{0, 0, 0}}
	tok, req := 0, 0
	for i, s := range steps {
		st, _ := time.Parse(time.RFC3339Nano, s.Started)
		fin, _ := time.Parse(time.RFC3339Nano, s.Finished)
		if i == 0 {
			t0 = st
		}
		tok += s.Tokens
		req += s.Requests
		x := fin.Sub(t0).Seconds()
		if t0.IsZero() || fin.IsZero() {
			x = float64(i + 1)
		}
		pts = append(pts, pt{x, tok, req})
	}
	span := pts[len(pts)-1].t
	if span <= 0 {
		span = 1
	}
	w, h := float64(c.Right-c.Left), float64(c.Bot-c.Top)
	line := func(v func(pt) int, total int) (string, [2]int) {
		var b strings.Builder
		var end [2]int
		for i, p := range pts {
			y := 0.0
			if total > 0 {
				y = float64(v(p)) / float64(total)
			}
			x := c.Left + int(math.Round(p.t/span*w))
			yy := c.Bot - int(math.Round(y*h))
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%d,%d", x, yy)
			end = [2]int{x, yy}
		}
		return b.String(), end
	}
	c.Tokens, c.TokensEnd = line(func(p pt) int { return p.tok }, tok)
	c.Requests, c.ReqEnd = line(func(p pt) int { return p.req }, req)
	c.MaxTokens, c.MaxReq = num(tok), num(req)
	c.Span = durationText(time.Duration(span * float64(time.Second)))
	for i := 0; i <= 4; i++ {
		x := c.Left + int(math.Round(float64(i)/4*w))
		c.XTicks = append(c.XTicks, tick{X: x, Label: durationText(time.Duration(span / 4 * float64(i) * float64(time.Second)))})
	}
	return c
}

func durationText(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.0fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%.0fm", d.Minutes())
	}
	return fmt.Sprintf("%.1fh", d.Hours())
}
