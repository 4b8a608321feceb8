package baseline

import (
	"context"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tixmesh/ticketing/apps/pkg/events"
)

// outbox mirrors the services' sidecar.Outbox: an event is saved in the same
// transaction as the change that causes it, published right after the
// commit, and its row deleted once JetStream has acknowledged it. The deletes
// are batched by a cleaner off the request path, as the mesh's are. (The
// mesh's relay, which republishes rows left by a crash, has no work in a
// healthy run and is not mirrored.)
type outbox struct {
	pool    *pgxpool.Pool
	js      jetstream.JetStream
	deletes chan string
	done    chan struct{}
	once    sync.Once
}

func newOutbox(pool *pgxpool.Pool, js jetstream.JetStream) *outbox {
	o := &outbox{pool: pool, js: js, deletes: make(chan string, 4096), done: make(chan struct{})}
	go o.clean()
	return o
}

// record saves the event in tx, the transaction of its change.
func (o *outbox) record(ctx context.Context, tx pgx.Tx, topic events.Topic, id string, data []byte) error {
	_, err := tx.Exec(ctx, `INSERT INTO outbox (id, topic, data) VALUES ($1, $2, $3)`, id, string(topic), data)
	return err
}

// publish sends a committed event and queues its row's deletion. On failure
// the row stays, for the (unmirrored) relay.
func (o *outbox) publish(ctx context.Context, topic events.Topic, id string, data []byte) error {
	if err := publish(ctx, o.js, topic, id, data); err != nil {
		return err
	}
	select {
	case o.deletes <- id:
	default: // the cleaner is behind; in the mesh the relay would catch up
	}
	return nil
}

// clean deletes published rows, everything queued at once in one statement,
// until close.
func (o *outbox) clean() {
	defer close(o.done)
	for id := range o.deletes {
		batch := []string{id}
	drain:
		for len(batch) < 64 {
			select {
			case id, ok := <-o.deletes:
				if !ok {
					break drain
				}
				batch = append(batch, id)
			default:
				break drain
			}
		}
		// Best effort, as the mesh's cleaner: a row left behind is harmless.
		_, _ = o.pool.Exec(context.Background(), `DELETE FROM outbox WHERE id = ANY($1)`, batch)
	}
}

// close deletes what is queued and stops the cleaner; nothing may publish
// after it.
func (o *outbox) close() {
	o.once.Do(func() { close(o.deletes) })
	<-o.done
}
