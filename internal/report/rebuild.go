package report

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/conveyor-migrate/conveyor/internal/mapping"
	pp "github.com/conveyor-migrate/conveyor/internal/perfectportal"
)

var mergeField = regexp.MustCompile(`\{\{\s*([A-Za-z0-9_.]+)\s*\}\}`)

// rebuild turns the notification templates into the rebuild plan: each
// template as it is, and the Pipedrive Automation that replaces it in each
// pipeline whose stages take its trigger stage.
func rebuild(templates []pp.Template, cfg *mapping.Config) *Rebuild {
	r := &Rebuild{Templates: []TemplateRow{}, Automations: []Automation{}}
	for _, t := range templates {
		row := TemplateRow{ID: t.ID, Name: t.Name, Channel: t.Channel, TriggerStage: t.TriggerStage, Audience: t.Audience,
			Subject: t.Subject, Body: t.Body, Active: t.Active}
		seen := map[string]bool{}
		for _, m := range mergeField.FindAllStringSubmatch(t.Subject+"\n"+t.Body, -1) {
			if !seen[m[1]] {
				seen[m[1]] = true
				row.MergeFields = append(row.MergeFields, m[1])
			}
		}
		sort.Strings(row.MergeFields)
		r.Templates = append(r.Templates, row)
		r.Automations = append(r.Automations, automations(t, cfg)...)
	}
	return r
}

func automations(t pp.Template, cfg *mapping.Config) []Automation {
	name := t.Name
	if name == "" {
		name = t.ID
	}
	action, recipient, note := automationAction(t)
	if !t.Active {
		note = strings.TrimSpace("Inactive in Perfect Portal: rebuild only if the firm still wants it. " + note)
	}
	var out []Automation
	for i := range cfg.Pipelines {
		pl := &cfg.Pipelines[i]
		stage, ok := pl.StageFor(t.TriggerStage)
		if !ok {
			continue
		}
		n := note
		if !strings.EqualFold(strings.TrimSpace(stage), strings.TrimSpace(t.TriggerStage)) {
			n = strings.TrimSpace(fmt.Sprintf("Perfect Portal's %q is part of the Pipedrive stage %q: the automation fires on entering that stage. ", t.TriggerStage, stage) + n)
		}
		out = append(out, Automation{Template: t.ID, Name: name, Pipeline: pl.Name,
			Trigger: fmt.Sprintf("Deal stage changed to %q (pipeline %s)", stage, pl.Name), Action: action, Recipient: recipient, Note: n})
	}
	if len(out) == 0 {
		trigger := "none: no Pipedrive stage takes this trigger stage"
		if strings.TrimSpace(t.TriggerStage) == "" {
			trigger = "none: the template names no trigger stage"
		}
		out = append(out, Automation{Template: t.ID, Name: name, Trigger: trigger, Action: action, Recipient: recipient,
			Note: strings.TrimSpace("Add the stage to the mapping configuration, or choose a trigger by hand. " + note)})
	}
	return out
}

// automationAction is the Automation action that does what a template's
// channel and audience did.
func automationAction(t pp.Template) (action, recipient, note string) {
	who := "the deal's contact person (the lead client)"
	switch strings.ToLower(strings.TrimSpace(t.Audience)) {
	case "referrer", "introducer", "estate agent", "broker", "third party":
		who = "the referrer (a participant of the deal: pick the person by hand, or a field holding their email)"
	case "fee earner", "staff", "internal":
		who = "the deal owner"
	}
	switch strings.ToLower(strings.TrimSpace(t.Channel)) {
	case "email", "e-mail", "":
		return "Send email", who, ""
	case "sms", "text":
		return "Create activity (type SMS or task, due today, for the deal owner)", who,
			"Pipedrive Automations cannot send a text message: the activity reminds the fee earner to send it, or use an SMS app from the Pipedrive Marketplace."
	default:
		return "Create activity (for the deal owner)", who, fmt.Sprintf("Pipedrive has no %q action: the activity reminds the fee earner.", t.Channel)
	}
}
