package sampleexport

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/perfectportal"
)

var activityTypes = []string{"email", "email", "email", "email", "email", "email",
	"call", "call", "call", "call", "task", "task", "task", "note", "note", "note", "sms", "sms", "meeting"}

// stageIndex is the position of a stage (or its synonym) in the firm's set.
func stageIndex(name string) int {
	for i, s := range stages {
		if s == name || stageSynonyms[s] == name {
			return i
		}
	}
	return 0
}

// notNotes are the activity types other than note, for fixed volumes.
var notNotes = slices.DeleteFunc(slices.Clone(activityTypes), func(t string) bool { return t == "note" })

func (g *gen) matterActivities(m *matterState) error {
	var types []string // fixed volumes: each activity's type, in time order
	var n int
	if g.opt.ActivitiesPerMatter > 0 || g.opt.NotesPerMatter > 0 {
		for range g.opt.ActivitiesPerMatter {
			types = append(types, pick(g, notNotes))
		}
		for range g.opt.NotesPerMatter {
			types = append(types, "note")
		}
		g.r.Shuffle(len(types), func(i, j int) { types[i], types[j] = types[j], types[i] })
		n = len(types)
	} else {
		n = 2*len(m.stages) + g.intn(3)
	}
	window := m.end.Sub(m.created)
	times := make([]time.Time, 0, n)
	for range n {
		t := g.workTime(m.created.Add(time.Duration(g.r.Float64() * float64(window))))
		if t.Before(m.created) {
			t = m.created.Add(time.Duration(g.between(5, 120)) * time.Minute)
		}
		times = append(times, g.beforeNow(t))
	}
	planted := false
	if g.opt.Messy && !g.ambiguousDone && !g.ambiguous.Before(m.created) && g.ambiguous.Before(m.end) {
		times[0] = g.ambiguous
		g.ambiguousDone, planted = true, true
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	ambiguous := -1
	if planted {
		ambiguous = slices.IndexFunc(times, func(t time.Time) bool { return t.Equal(g.ambiguous) })
	}
	unknownType := g.plant.take(m.due, "unknown_activity_type")
	for j, t := range times {
		var typ string
		if types != nil {
			typ = types[j]
		} else {
			typ = pick(g, activityTypes)
		}
		if j == ambiguous {
			typ = "sms" // the overnight automated reminder
		}
		if unknownType && j == len(times)/2 {
			typ = "letter"
		}
		if err := g.writeActivity(m, m.id, typ, t); err != nil {
			return err
		}
		if t.After(m.lastActivity) {
			m.lastActivity = t
		}
	}
	if g.plant.take(m.due, "orphan_activity") {
		missing := matterID(g.opt.Matters + 5000 + g.plant.counts["orphan_activity"])
		return g.writeActivity(m, missing, "call", times[0])
	}
	return nil
}

func (g *gen) writeActivity(m *matterState, matterID, typ string, t time.Time) error {
	stage := 0
	for _, s := range m.stages {
		if !s.at.After(t) {
			stage = stageIndex(s.name)
		}
	}
	tx := g.texts(m)
	var subject, body, direction, duration string
	switch typ {
	case "email":
		inbound := g.chance(0.35)
		direction = "outbound"
		if inbound {
			direction = "inbound"
		}
		subject, body = tx.email(stage, inbound)
	case "call":
		direction = pick(g, []string{"inbound", "outbound"})
		subject, body = tx.call(stage, direction == "inbound")
		duration = strconv.Itoa(g.between(2, 40))
	case "sms":
		direction = "outbound"
		subject, body = tx.sms(stage)
	case "meeting":
		subject, body = tx.meeting(stage)
		duration = strconv.Itoa(pick(g, []int{30, 45, 60, 90}))
	case "task":
		subject, body = tx.task(stage)
	case "note":
		subject, body = tx.note(stage)
	default: // letter
		direction = "outbound"
		subject = "Letter to " + tx.c.title + " " + tx.c.last + " enclosing contract for signature"
		body = "Sent by post, first class, to " + tx.c.addr.line1 + "."
	}
	done := true
	if typ == "task" && m.status == "open" && g.now.Sub(t) < 21*24*time.Hour {
		done = g.chance(0.4)
	}
	fe := m.fe.id
	if g.chance(0.1) {
		if other := g.feeEarners[g.intn(len(g.feeEarners))]; other.active {
			fe = other.id
		}
	}
	g.nActivities++
	return g.b.row(perfectportal.TableActivities, []string{fmt.Sprintf("A%07d", g.nActivities), matterID, typ,
		direction, subject, body, g.localTime(t), duration, fe, g.boolean(done)})
}
