package sidecar

import (
	"context"
	"time"
)

// Batcher commits changes that concurrent callers (HTTP requests) submit
// together: while one batch is being committed the next one gathers, so that
// under load N requests cost one bulk read, one transaction and one publish
// instead of N of each, and when calls come one at a time each commits at
// once, in a batch of one. A change that cannot share its batch (it touches a key another
// one touches, or the batch lost a race) is handed back to its caller, who
// runs it alone (Outbox.Apply): the outcome is always the same as Apply's.
type Batcher struct {
	outbox  *Outbox
	queue   chan batched
	max     int
	stopped chan struct{} // closed when Run returns
}

type batched struct {
	c    Change
	done chan result
}

type result struct {
	err   error
	alone bool
}

// batchTimeout bounds one batch's commit: its callers' requests may have been
// cancelled, but the batch is theirs together, and its outcome must be known.
const batchTimeout = 10 * time.Second

// NewBatcher returns a batcher of at most max changes per batch over outbox.
// Run must be running for Apply to return.
func NewBatcher(outbox *Outbox, max int) *Batcher {
	return &Batcher{outbox: outbox, queue: make(chan batched, max), max: max, stopped: make(chan struct{})}
}

// Apply commits c with whatever other changes are waiting, and returns its
// error as Outbox.Apply would. It waits for the outcome even if ctx ends
// meanwhile: once submitted, the change may be committed, and the caller
// must not answer as though it were not.
func (b *Batcher) Apply(ctx context.Context, c Change) error {
	done := make(chan result, 1)
	select {
	case b.queue <- batched{c: c, done: done}:
	case <-ctx.Done():
		return ctx.Err()
	case <-b.stopped:
		return b.outbox.Apply(ctx, c)
	}
	var r result
	select {
	case r = <-done:
	case <-b.stopped:
		// Run answered everything it took before it returned; a change still
		// in the queue was never taken, and is committed here.
		select {
		case r = <-done:
		default:
			r.alone = true
		}
	}
	if r.alone {
		return b.outbox.Apply(ctx, c)
	}
	return r.err
}

// Run commits batches until ctx ends, then answers what is still queued;
// changes submitted afterwards are committed alone by their callers.
func (b *Batcher) Run(ctx context.Context) {
	defer close(b.stopped)
	batch := make([]batched, 0, b.max)
	for {
		select {
		case <-ctx.Done():
			for {
				select {
				case it := <-b.queue:
					it.done <- result{alone: true} // its caller commits it
				default:
					return
				}
			}
		case it := <-b.queue:
			batch = append(batch[:0], it)
		gather:
			for len(batch) < b.max {
				select {
				case it := <-b.queue:
					batch = append(batch, it)
				default:
					break gather
				}
			}
			b.commit(context.WithoutCancel(ctx), batch)
		}
	}
}

func (b *Batcher) commit(ctx context.Context, batch []batched) {
	ctx, cancel := context.WithTimeout(ctx, batchTimeout)
	defer cancel()
	cs := make([]Change, len(batch))
	for i, it := range batch {
		cs[i] = it.c
	}
	errs, alone := b.outbox.together(ctx, cs)
	isAlone := make([]bool, len(batch))
	for _, i := range alone {
		isAlone[i] = true
	}
	for i, it := range batch {
		it.done <- result{err: errs[i], alone: isAlone[i]}
	}
}
