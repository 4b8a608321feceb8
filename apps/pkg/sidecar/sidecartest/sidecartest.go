// Package sidecartest has in-memory fakes of the sidecar's state store and
// publisher, for unit tests of one service. They keep the real semantics that
// the services rely on (ETag conditions, create-only writes, all-or-nothing
// transactions); the integration tests run the same flows on a real sidecar.
package sidecartest

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/tixmesh/ticketing/apps/pkg/events"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar"
)

// State is an in-memory sidecar.State.
type State struct {
	mu    sync.Mutex
	items map[string]sidecar.Item
	seq   int
	// FailNext, when set, makes the next Transact fail with it (once).
	FailNext error
}

var _ sidecar.State = (*State)(nil)

// NewState returns an empty store.
func NewState() *State { return &State{items: map[string]sidecar.Item{}} }

func (s *State) Get(_ context.Context, key string) (sidecar.Item, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if it, ok := s.items[key]; ok {
		return it, nil
	}
	return sidecar.Item{Key: key}, nil
}

func (s *State) GetBulk(ctx context.Context, keys []string) ([]sidecar.Item, error) {
	out := make([]sidecar.Item, len(keys))
	for i, k := range keys {
		out[i], _ = s.Get(ctx, k)
	}
	return out, nil
}

func (s *State) Transact(_ context.Context, ops ...sidecar.Op) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.FailNext; err != nil {
		s.FailNext = nil
		return err
	}
	for _, op := range ops {
		cur, exists := s.items[op.Key]
		if op.Create && exists {
			return fmt.Errorf("create %s: %w", op.Key, sidecar.ErrConflict)
		}
		if op.ETag != "" && (!exists || cur.ETag != op.ETag) {
			return fmt.Errorf("write %s: %w", op.Key, sidecar.ErrConflict)
		}
	}
	for _, op := range ops {
		if op.Delete {
			delete(s.items, op.Key)
			continue
		}
		b, err := json.Marshal(op.Value)
		if err != nil {
			return err
		}
		s.seq++
		s.items[op.Key] = sidecar.Item{Key: op.Key, Value: b, ETag: strconv.Itoa(s.seq)}
	}
	return nil
}

// Query supports what the services use: an EQ filter on top-level fields,
// a sort on top-level fields (order ASC, the default, or DESC; keys break
// ties), a page limit, and a numeric token (the offset).
func (s *State) Query(_ context.Context, query string) ([]sidecar.Item, string, error) {
	var q struct {
		Filter struct {
			EQ map[string]any `json:"EQ"`
		} `json:"filter"`
		Sort []struct {
			Key   string `json:"key"`
			Order string `json:"order"`
		} `json:"sort"`
		Page struct {
			Limit int    `json:"limit"`
			Token string `json:"token"`
		} `json:"page"`
	}
	if err := json.Unmarshal([]byte(query), &q); err != nil {
		return nil, "", err
	}
	s.mu.Lock()
	keys := make([]string, 0, len(s.items))
	for k := range s.items {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	type match struct {
		it  sidecar.Item
		doc map[string]any
	}
	var matched []match
	for _, k := range keys {
		it := s.items[k]
		var doc map[string]any
		if json.Unmarshal(it.Value, &doc) != nil {
			continue
		}
		ok := true
		for field, want := range q.Filter.EQ {
			if fmt.Sprint(doc[field]) != fmt.Sprint(want) {
				ok = false
			}
		}
		if ok {
			matched = append(matched, match{it, doc})
		}
	}
	s.mu.Unlock()
	sort.SliceStable(matched, func(i, j int) bool {
		for _, k := range q.Sort {
			a, b := fmt.Sprint(matched[i].doc[k.Key]), fmt.Sprint(matched[j].doc[k.Key])
			if a == b {
				continue
			}
			if strings.EqualFold(k.Order, "DESC") {
				return a > b
			}
			return a < b
		}
		return false
	})
	start, _ := strconv.Atoi(q.Page.Token)
	if start > len(matched) {
		start = len(matched)
	}
	end := len(matched)
	if q.Page.Limit > 0 && start+q.Page.Limit < end {
		end = start + q.Page.Limit
	}
	next := ""
	if end < len(matched) {
		next = strconv.Itoa(end)
	}
	items := make([]sidecar.Item, 0, end-start)
	for _, m := range matched[start:end] {
		items = append(items, m.it)
	}
	return items, next, nil
}

// Keys returns the stored keys, sorted.
func (s *State) Keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]string, 0, len(s.items))
	for k := range s.items {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Publisher records what was published.
type Publisher struct {
	mu    sync.Mutex
	msgs  []events.Message
	calls int
	// Err, when set, makes every Publish fail with it.
	Err error
}

var _ sidecar.Publisher = (*Publisher)(nil)

func (p *Publisher) Publish(_ context.Context, msgs ...events.Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.Err != nil {
		return p.Err
	}
	p.msgs = append(p.msgs, msgs...)
	p.calls++
	return nil
}

// SetErr makes every Publish fail with err from now on (nil: succeed).
func (p *Publisher) SetErr(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.Err = err
}

// Calls returns how many Publish calls succeeded.
func (p *Publisher) Calls() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls
}

// Messages returns what was published, in order, without the trace context
// each message carried (Traced has it), so that tests can compare events.
func (p *Publisher) Messages() []events.Message {
	msgs := p.Traced()
	for i := range msgs {
		msgs[i].TraceParent = ""
	}
	return msgs
}

// Traced returns what was published, in order, as published.
func (p *Publisher) Traced() []events.Message {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]events.Message(nil), p.msgs...)
}
