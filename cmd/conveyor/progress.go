package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/asl"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive"
)

// progress shows a run as the state machine goes: on a terminal, a bar for
// each load (chunks done of the chunks there are, with the requests and
// tokens spent so far) and a spinner line for verify; otherwise one plain
// line per finished state. With --json it shows nothing.
type progress struct {
	w     io.Writer
	tty   bool
	quiet bool
	meter *pipedrive.Meter
	// total gives a Map state's number of chunks, once extract has staged
	// the export (nil before).
	total func(state string) int

	mu      sync.Mutex
	done    map[string]int
	current string
	started time.Time
	stop    chan struct{}
	stopped chan struct{}
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// longStates are the states a bar is drawn for: the loads, and verify.
func longState(ev asl.Event) bool {
	return ev.Scope == "" && (ev.Type == "Map" || ev.State == "Verify")
}

// event is the executor's OnTransition callback.
func (p *progress) event(ev asl.Event) {
	if p.quiet {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done == nil {
		p.done = map[string]int{}
	}
	switch {
	case ev.Kind == asl.StateEntered && longState(ev) && p.tty:
		p.current, p.started = ev.State, time.Now()
		p.stop, p.stopped = make(chan struct{}), make(chan struct{})
		go p.tick(p.stop, p.stopped)
	case ev.Kind == asl.StateExited && ev.Scope != "" && ev.Type == "Task":
		p.done[strings.SplitN(ev.Scope, "[", 2)[0]]++
	case ev.Kind == asl.StateExited && ev.Scope == "" && ev.Type != "Choice" && ev.Type != "Pass":
		if ev.State == p.current && p.stop != nil {
			close(p.stop)
			p.mu.Unlock()
			<-p.stopped
			p.mu.Lock()
			p.stop, p.current = nil, ""
			fmt.Fprint(p.w, "\r\033[K")
		}
		if n := p.done[ev.State]; n > 0 {
			fmt.Fprintf(p.w, "  %-22s %d chunks, %s\n", ev.State, n, ev.Duration.Round(time.Millisecond))
			return
		}
		fmt.Fprintf(p.w, "  %-22s %s\n", ev.State, ev.Duration.Round(time.Millisecond))
	case ev.Kind == asl.StateRetrying:
		fmt.Fprintf(p.w, "  %-22s retrying after %s (attempt %d, %s)\n", ev.State, ev.Error, ev.Attempt, ev.Delay.Round(time.Millisecond))
	case ev.Kind == asl.TaskTokenWaiting:
		fmt.Fprintf(p.w, "  %-22s waiting for approval\n", ev.State)
	case ev.Kind == asl.StateEntered && ev.Scope == "" && ev.Type == "Wait":
		fmt.Fprintf(p.w, "  %-22s the daily token budget ran out: waiting until it resets\n", ev.State)
	}
}

// tick redraws the current bar until stop closes.
func (p *progress) tick(stop <-chan struct{}, stopped chan<- struct{}) {
	defer close(stopped)
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		p.mu.Lock()
		fmt.Fprint(p.w, "\r\033[K"+p.line())
		p.mu.Unlock()
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}

// line is the current bar: [#####.....] 3/8 chunks · 1,204 requests · 7,950 tokens · 12s.
func (p *progress) line() string {
	const width = 24
	total := 0
	if p.total != nil {
		total = p.total(p.current)
	}
	done := p.done[p.current]
	bar := strings.Repeat("·", width)
	if total > 0 {
		n := min(width, done*width/total)
		bar = strings.Repeat("█", n) + strings.Repeat("·", width-n)
	} else {
		// No chunk count (verify): a sweep that shows it is alive.
		i := int(time.Since(p.started)/(200*time.Millisecond)) % width
		bar = strings.Repeat("·", i) + "█" + strings.Repeat("·", width-i-1)
	}
	s := fmt.Sprintf("  %-22s [%s]", p.current, bar)
	if total > 0 {
		s += fmt.Sprintf(" %d/%d chunks", done, total)
	}
	if p.meter != nil {
		s += fmt.Sprintf(" · %d requests · %d tokens", p.meter.Requests(), p.meter.Total())
	}
	return s + fmt.Sprintf(" · %s", time.Since(p.started).Round(time.Second))
}
