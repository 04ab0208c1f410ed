package asl

import (
	"context"
	"fmt"
	"sync"
)

// Map (inline) and Parallel states: iterations and branches run
// concurrently; outputs keep the order of items and branches; the first
// failure stops the others and becomes the state's error, for its own
// Retry and Catch.

func (ex *execution) attemptMap(ctx context.Context, r *stateRun, raw any) (any, error) {
	m := r.st.mapSpec
	cobj := ex.contextObject(r, "", nil)
	in, err := r.selectPath("InputPath", r.st.inputPath, raw, ex.env(raw, cobj))
	if err != nil {
		return nil, err
	}
	e := ex.env(in, cobj)
	itemsV := in
	if m.itemsPath != nil {
		v, ok := get(m.itemsPath, e)
		if !ok {
			return nil, r.failf("ItemsPath %q names nothing in the state's input", m.itemsPath.src)
		}
		itemsV = v
	}
	items, ok := itemsV.([]any)
	if !ok {
		return nil, r.failf("ItemsPath must name an array, not a %s", typeName(itemsV))
	}
	limit := m.maxConcurrency
	if m.maxConcurrencyPath != nil {
		v, ok := get(m.maxConcurrencyPath, e)
		n, isInt := asInteger(v)
		if !ok || !isInt || n < 0 {
			return nil, r.failf("MaxConcurrencyPath %q must name a non-negative integer", m.maxConcurrencyPath.src)
		}
		limit = int(min(n, MaxMapConcurrency))
	}
	if limit == 0 || limit > MaxMapConcurrency {
		limit = MaxMapConcurrency
	}
	results, err := ex.fanOut(ctx, len(items), limit, func(ctx context.Context, i int) (any, error) {
		item := items[i]
		if m.itemSelector != nil {
			mi := newObject(2)
			mi.set("Index", intNumber(int64(i)))
			mi.set("Value", items[i])
			v, err := m.itemSelector.build(ex.env(in, ex.contextObject(r, "", mi)))
			if err != nil {
				return nil, r.failf("ItemSelector: %v", err)
			}
			if err := r.checkSize(v, "item selected for an iteration"); err != nil {
				return nil, err
			}
			item = v
		}
		return ex.runBranch(ctx, m.processor, item, r.childScope(i))
	})
	if err != nil {
		return nil, err
	}
	return ex.finish(r, raw, results, cobj)
}

func (ex *execution) attemptParallel(ctx context.Context, r *stateRun, raw any) (any, error) {
	cobj := ex.contextObject(r, "", nil)
	_, in, err := ex.effectiveInput(r, raw, ex.env(raw, cobj))
	if err != nil {
		return nil, err
	}
	branches := r.st.branches
	results, err := ex.fanOut(ctx, len(branches), len(branches), func(ctx context.Context, i int) (any, error) {
		return ex.runBranch(ctx, branches[i], in, r.childScope(i))
	})
	if err != nil {
		return nil, err
	}
	return ex.finish(r, raw, results, cobj)
}

// childScope names iteration or branch i of the state for events.
func (r *stateRun) childScope(i int) string {
	s := fmt.Sprintf("%s[%d]", r.st.name, i)
	if r.scope != "" {
		s = r.scope + "/" + s
	}
	return s
}

// fanOut runs n jobs, at most limit at a time, and returns their results in
// order. The first job to fail cancels the rest, and its error is returned.
func (ex *execution) fanOut(ctx context.Context, n, limit int, job func(ctx context.Context, i int) (any, error)) ([]any, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make([]any, n)
	var (
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
	)
	sem := make(chan struct{}, limit)
launch:
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			break launch
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out, err := job(ctx, i)
			if err != nil {
				once.Do(func() {
					firstErr = err
					cancel()
				})
				return
			}
			results[i] = out
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return results, nil
}

// mapState reads an inline Map state's fields.
func (p *stateParser) mapState(s *state) error {
	m := &mapSpec{}
	var err error
	if m.itemsPath, err = p.path("ItemsPath", true); err != nil {
		return err
	}
	if m.itemsPath != nil && len(m.itemsPath.segs) == 0 && !m.itemsPath.context {
		m.itemsPath = nil
	}
	_, hasSelector := p.get("ItemSelector")
	_, hasParams := p.get("Parameters")
	if hasSelector && hasParams {
		return p.errorf("Parameters", "cannot be used with ItemSelector (Parameters is its older name)")
	}
	field := "ItemSelector"
	if hasParams {
		field = "Parameters"
	}
	if m.itemSelector, err = p.template(field); err != nil {
		return err
	}
	procV, hasProc := p.get("ItemProcessor")
	iterV, hasIter := p.get("Iterator")
	switch {
	case hasProc && hasIter:
		return p.errorf("Iterator", "cannot be used with ItemProcessor (Iterator is its older name)")
	case !hasProc && !hasIter:
		return p.errorf("ItemProcessor", "is required")
	}
	field, procDef := "ItemProcessor", procV
	if hasIter {
		field, procDef = "Iterator", iterV
	}
	obj, ok := procDef.(*object)
	if !ok {
		return p.errorf(field, "must be an object with StartAt and States")
	}
	if err := checkFields(obj, s.name, field+".", []string{"StartAt", "States", "Comment", "ProcessorConfig"}, "an item processor"); err != nil {
		return err
	}
	if cfg, ok := obj.get("ProcessorConfig"); ok {
		if err := p.processorConfig(field+".ProcessorConfig", cfg); err != nil {
			return err
		}
	}
	if m.processor, err = parseBranch(obj, s.name, field+"."); err != nil {
		return err
	}
	if v, ok := p.get("MaxConcurrency"); ok {
		n, ok := intIn(v, 0, maxConcurrencyValue)
		if !ok {
			return p.errorf("MaxConcurrency", "must be a non-negative integer")
		}
		m.maxConcurrency = int(n)
	}
	if m.maxConcurrencyPath, err = p.path("MaxConcurrencyPath", true); err != nil {
		return err
	}
	if _, both := p.get("MaxConcurrency"); both && m.maxConcurrencyPath != nil {
		return p.errorf("MaxConcurrencyPath", "cannot be used with MaxConcurrency")
	}
	s.mapSpec = m
	return nil
}

// processorConfig accepts the inline Map's ProcessorConfig only.
func (p *stateParser) processorConfig(field string, v any) error {
	obj, ok := v.(*object)
	if !ok {
		return p.errorf(field, "must be an object")
	}
	for _, k := range obj.keys {
		switch k {
		case "Mode":
			switch obj.vals[k] {
			case "INLINE":
			case "DISTRIBUTED":
				return p.errorf(field+".Mode", `is "DISTRIBUTED", which %v: only "INLINE" is`, errUnsupported)
			default:
				return p.errorf(field+".Mode", `must be "INLINE" or "DISTRIBUTED"`)
			}
		case "ExecutionType":
			return p.errorf(field+".ExecutionType", "%v (it belongs to the distributed Map)", errUnsupported)
		default:
			return p.errorf(field+"."+k, "is not a valid field of ProcessorConfig")
		}
	}
	return nil
}

// parallel reads a Parallel state's Branches.
func (p *stateParser) parallel(s *state) error {
	v, _ := p.get("Branches")
	arr, ok := v.([]any)
	if !ok || len(arr) == 0 {
		return p.errorf("Branches", "is required and must be a non-empty array of branches")
	}
	for i, e := range arr {
		prefix := fmt.Sprintf("Branches[%d].", i)
		obj, ok := e.(*object)
		if !ok {
			return p.errorf(prefix[:len(prefix)-1], "must be an object with StartAt and States")
		}
		if err := checkFields(obj, s.name, prefix, []string{"StartAt", "States", "Comment"}, "a branch"); err != nil {
			return err
		}
		b, err := parseBranch(obj, s.name, prefix)
		if err != nil {
			return err
		}
		s.branches = append(s.branches, b)
	}
	return nil
}
