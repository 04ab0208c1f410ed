package report

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// CostFigures are the prices the cost worksheet multiplies. Every figure is
// the firm's to edit: a `costs:` section of the migration's config.yaml, a
// costs.yaml beside it in the store, or `conveyor report --costs FILE`.
// Figures left out keep the defaults below (see DefaultCosts).
type CostFigures struct {
	// Currency is the currency of the Perfect Portal figures (and of the
	// comparison), e.g. "GBP".
	Currency string `json:"currency" yaml:"currency"`
	// PerfectPortalPerMatter is what Perfect Portal charges per matter;
	// PerfectPortalMonthly any fixed monthly fee besides.
	PerfectPortalPerMatter float64 `json:"perfect_portal_per_matter" yaml:"perfect_portal_per_matter"`
	PerfectPortalMonthly   float64 `json:"perfect_portal_monthly" yaml:"perfect_portal_monthly"`
	// MattersPerYear is how many matters the firm opens a year; 0 counts
	// the export's matters created in the 12 months before it was taken.
	MattersPerYear int `json:"matters_per_year" yaml:"matters_per_year"`
	// PipedriveCurrency is the currency of the Pipedrive prices.
	PipedriveCurrency string `json:"pipedrive_currency" yaml:"pipedrive_currency"`
	// PipedrivePerSeatMonth is the price of one seat for a month, by plan.
	PipedrivePerSeatMonth map[string]float64 `json:"pipedrive_per_seat_month" yaml:"pipedrive_per_seat_month"`
	// PipedrivePlan is the plan to price; empty means the run's plan.
	PipedrivePlan string `json:"pipedrive_plan,omitempty" yaml:"pipedrive_plan"`
	// PipedriveSeats is the seats to price; 0 means one per active fee
	// earner in the export (at least the run's seats).
	PipedriveSeats int `json:"pipedrive_seats,omitempty" yaml:"pipedrive_seats"`
	// ExchangeRate is how many units of Currency one unit of
	// PipedriveCurrency buys; 1 when they are the same.
	ExchangeRate float64 `json:"exchange_rate" yaml:"exchange_rate"`
}

// Pipedrive's list prices per seat per month, billed annually, in US
// dollars, as pipedrive.com/en/pricing published them (transcribed
// 2026-09-20: Lite US$14, Growth US$39, Premium US$59, Ultimate US$79).
// Monthly billing costs more; prices exclude VAT.
var pipedriveListPrices = map[string]float64{"lite": 14, "growth": 39, "premium": 59, "ultimate": 79}

// PipedrivePriceSource says where the default Pipedrive prices come from.
const PipedrivePriceSource = "Pipedrive's published list prices per seat per month, billed annually, in US$ (pipedrive.com/en/pricing, as read on 2026-09-20); monthly billing costs more, VAT is extra"

// DefaultCosts returns the figures the worksheet uses when the firm gives
// none. The Perfect Portal price and the exchange rate are placeholders, not
// published prices: Perfect Portal does not publish its per-matter price.
func DefaultCosts() CostFigures {
	prices := map[string]float64{}
	for k, v := range pipedriveListPrices {
		prices[k] = v
	}
	return CostFigures{Currency: "GBP", PerfectPortalPerMatter: 10, PerfectPortalMonthly: 0, PipedriveCurrency: "USD",
		PipedrivePerSeatMonth: prices, ExchangeRate: 0.75}
}

// Costs is the cost worksheet: a year of Perfect Portal, per matter, beside
// a year of Pipedrive, per seat.
type Costs struct {
	Figures CostFigures `json:"figures"`
	// FiguresFrom says where the figures were read ("defaults", or the
	// file or key they came from); Placeholders names the figures that are
	// still placeholders to edit.
	FiguresFrom  string   `json:"figures_from"`
	Placeholders []string `json:"placeholders"`
	// Inputs from the migration, kept so that other figures can be
	// applied (ApplyCosts) without building the report again.
	MattersCounted   int    `json:"matters_counted"`
	MattersBasis     string `json:"matters_basis"`
	RunPlan          string `json:"run_plan,omitempty"`
	RunSeats         int    `json:"run_seats,omitempty"`
	ActiveFeeEarners int    `json:"active_fee_earners"`
	// The worksheet.
	MattersPerYear int        `json:"matters_per_year"`
	Plan           string     `json:"plan"`
	Seats          int        `json:"seats"`
	Before         []CostLine `json:"before"`
	After          []CostLine `json:"after"`
	// BeforeYear and AfterYear are in Currency; AfterYearPipedrive in
	// PipedriveCurrency. Saving is BeforeYear - AfterYear.
	BeforeYear         float64 `json:"before_year"`
	AfterYearPipedrive float64 `json:"after_year_pipedrive"`
	AfterYear          float64 `json:"after_year"`
	Saving             float64 `json:"saving"`
}

// CostLine is one line of the worksheet.
type CostLine struct {
	Item     string  `json:"item"`
	Quantity float64 `json:"quantity"`
	Unit     string  `json:"unit"`
	Price    float64 `json:"price"`
	Currency string  `json:"currency"`
	Amount   float64 `json:"amount"`
}

// costsFile is a YAML document holding a costs section (a mapping
// configuration with one, or a file of its own); a file of only the
// figures is read too.
type costsFile struct {
	Costs *partialCosts `yaml:"costs"`
}

// partialCosts has pointers, so that a figure left out keeps its default.
type partialCosts struct {
	Currency               *string            `yaml:"currency"`
	PerfectPortalPerMatter *float64           `yaml:"perfect_portal_per_matter"`
	PerfectPortalMonthly   *float64           `yaml:"perfect_portal_monthly"`
	MattersPerYear         *int               `yaml:"matters_per_year"`
	PipedriveCurrency      *string            `yaml:"pipedrive_currency"`
	PipedrivePerSeatMonth  map[string]float64 `yaml:"pipedrive_per_seat_month"`
	PipedrivePlan          *string            `yaml:"pipedrive_plan"`
	PipedriveSeats         *int               `yaml:"pipedrive_seats"`
	ExchangeRate           *float64           `yaml:"exchange_rate"`
}

func (p partialCosts) empty() bool {
	return p.Currency == nil && p.PerfectPortalPerMatter == nil && p.PerfectPortalMonthly == nil && p.MattersPerYear == nil &&
		p.PipedriveCurrency == nil && len(p.PipedrivePerSeatMonth) == 0 && p.PipedrivePlan == nil && p.PipedriveSeats == nil && p.ExchangeRate == nil
}

// Cost figure names, as the YAML spells them.
const (
	figPerMatter    = "perfect_portal_per_matter"
	figExchangeRate = "exchange_rate"
	figPrices       = "pipedrive_per_seat_month"
)

// CostOverrides are figures read from a file, over the defaults.
type CostOverrides struct {
	p    partialCosts
	From string
}

// ParseCosts reads cost figures from YAML: a document with a `costs:`
// section (such as a mapping configuration), or the figures alone. ok is
// false when the document has no figures at all.
func ParseCosts(from string, data []byte) (o CostOverrides, ok bool, err error) {
	var f costsFile
	if err := yaml.Unmarshal(data, &f); err != nil {
		return o, false, fmt.Errorf("%s: %w", from, err)
	}
	if f.Costs == nil {
		var p partialCosts
		if err := yaml.Unmarshal(data, &p); err != nil {
			return o, false, fmt.Errorf("%s: %w", from, err)
		}
		if p.empty() {
			return o, false, nil
		}
		f.Costs = &p
	}
	o = CostOverrides{p: *f.Costs, From: from}
	if err := o.check(); err != nil {
		return o, false, fmt.Errorf("%s: %w", from, err)
	}
	return o, true, nil
}

func (o CostOverrides) check() error {
	neg := func(name string, v *float64) error {
		if v != nil && (*v < 0 || math.IsNaN(*v) || math.IsInf(*v, 0)) {
			return fmt.Errorf("costs.%s must be a number, 0 or more", name)
		}
		return nil
	}
	p := o.p
	for _, c := range []struct {
		n string
		v *float64
	}{{figPerMatter, p.PerfectPortalPerMatter}, {"perfect_portal_monthly", p.PerfectPortalMonthly}, {figExchangeRate, p.ExchangeRate}} {
		if err := neg(c.n, c.v); err != nil {
			return err
		}
	}
	for plan, v := range p.PipedrivePerSeatMonth {
		if err := neg(figPrices+"."+plan, &v); err != nil {
			return err
		}
	}
	if p.MattersPerYear != nil && *p.MattersPerYear < 0 {
		return fmt.Errorf("costs.matters_per_year must be 0 or more")
	}
	if p.PipedriveSeats != nil && *p.PipedriveSeats < 0 {
		return fmt.Errorf("costs.pipedrive_seats must be 0 or more")
	}
	return nil
}

// apply lays the overrides over f and returns the placeholders they replace.
func (o CostOverrides) apply(f *CostFigures, placeholders map[string]bool) {
	p := o.p
	if p.Currency != nil {
		f.Currency = *p.Currency
	}
	if p.PerfectPortalPerMatter != nil {
		f.PerfectPortalPerMatter = *p.PerfectPortalPerMatter
		delete(placeholders, figPerMatter)
	}
	if p.PerfectPortalMonthly != nil {
		f.PerfectPortalMonthly = *p.PerfectPortalMonthly
	}
	if p.MattersPerYear != nil {
		f.MattersPerYear = *p.MattersPerYear
	}
	if p.PipedriveCurrency != nil {
		f.PipedriveCurrency = *p.PipedriveCurrency
	}
	for plan, v := range p.PipedrivePerSeatMonth {
		f.PipedrivePerSeatMonth[strings.ToLower(plan)] = v
	}
	if p.PipedrivePlan != nil {
		f.PipedrivePlan = strings.ToLower(*p.PipedrivePlan)
	}
	if p.PipedriveSeats != nil {
		f.PipedriveSeats = *p.PipedriveSeats
	}
	if p.ExchangeRate != nil {
		f.ExchangeRate = *p.ExchangeRate
		delete(placeholders, figExchangeRate)
	}
}

// AddCosts lays more figures over those the worksheet uses (the
// migration's own, which Build read) and recomputes it.
func (d *Data) AddCosts(o CostOverrides) {
	d.ApplyCosts(append(append([]CostOverrides(nil), d.costOverrides...), o)...)
}

// ApplyCosts recomputes the cost worksheet with the given figures laid
// over the defaults (later overrides win).
func (d *Data) ApplyCosts(overrides ...CostOverrides) {
	d.costOverrides = append([]CostOverrides(nil), overrides...)
	if d.Costs == nil {
		d.Costs = &Costs{}
	}
	c := d.Costs
	f := DefaultCosts()
	placeholders := map[string]bool{figPerMatter: true, figExchangeRate: true}
	c.FiguresFrom = "defaults"
	var from []string
	for _, o := range overrides {
		o.apply(&f, placeholders)
		from = append(from, o.From)
	}
	if len(from) > 0 {
		c.FiguresFrom = strings.Join(from, ", then ")
	}
	if f.Currency == f.PipedriveCurrency {
		delete(placeholders, figExchangeRate)
	}
	c.Figures = f
	c.Placeholders = []string{}
	for k := range placeholders {
		c.Placeholders = append(c.Placeholders, k)
	}
	sort.Strings(c.Placeholders)
	c.compute()
}

// compute fills in the worksheet from the figures and the inputs.
func (c *Costs) compute() {
	f := c.Figures
	c.MattersPerYear = c.MattersCounted
	if f.MattersPerYear > 0 {
		c.MattersPerYear = f.MattersPerYear
	}
	c.Plan = f.PipedrivePlan
	if c.Plan == "" {
		c.Plan = c.RunPlan
	}
	if c.Plan == "" {
		c.Plan = "growth"
	}
	c.Seats = f.PipedriveSeats
	if c.Seats == 0 {
		c.Seats = max(c.ActiveFeeEarners, c.RunSeats, 1)
	}
	c.Before = []CostLine{{Item: "Perfect Portal, per matter", Quantity: float64(c.MattersPerYear), Unit: "matters a year",
		Price: f.PerfectPortalPerMatter, Currency: f.Currency, Amount: money(float64(c.MattersPerYear) * f.PerfectPortalPerMatter)}}
	if f.PerfectPortalMonthly > 0 {
		c.Before = append(c.Before, CostLine{Item: "Perfect Portal, fixed monthly fee", Quantity: 12, Unit: "months",
			Price: f.PerfectPortalMonthly, Currency: f.Currency, Amount: money(12 * f.PerfectPortalMonthly)})
	}
	price := f.PipedrivePerSeatMonth[c.Plan]
	c.After = []CostLine{{Item: fmt.Sprintf("Pipedrive %s, per seat per month", titleCase(c.Plan)), Quantity: float64(c.Seats * 12),
		Unit: fmt.Sprintf("seat-months (%d seats × 12)", c.Seats), Price: price, Currency: f.PipedriveCurrency, Amount: money(float64(c.Seats*12) * price)}}
	c.BeforeYear, c.AfterYearPipedrive = 0, 0
	for _, l := range c.Before {
		c.BeforeYear += l.Amount
	}
	for _, l := range c.After {
		c.AfterYearPipedrive += l.Amount
	}
	c.BeforeYear, c.AfterYearPipedrive = money(c.BeforeYear), money(c.AfterYearPipedrive)
	rate := f.ExchangeRate
	if f.Currency == f.PipedriveCurrency || rate <= 0 {
		rate = 1
	}
	c.AfterYear = money(c.AfterYearPipedrive * rate)
	c.Saving = money(c.BeforeYear - c.AfterYear)
}

func money(f float64) float64 { return math.Round(f*100) / 100 }

func titleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
