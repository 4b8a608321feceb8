package faults

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tixmesh/ticketing/tools/loadgen/check"
	"github.com/tixmesh/ticketing/tools/mesh"
)

// deliveries counts, for the checker, what was published (every message on
// the stream, by its CloudEvent id) and what each subscriber handled (the
// "event handled" lines its log holds at debug level, across restarts: the
// logs are appended to).
func deliveries(m *mesh.Mesh) func(context.Context) (*check.Deliveries, error) {
	return func(ctx context.Context) (*check.Deliveries, error) {
		d := &check.Deliveries{Published: map[string][]string{}, Subscribers: m.Subscribers(), Handled: map[string]map[string]map[string]int{}}
		if err := readStream(ctx, m.NATSURL(), d.Published); err != nil {
			return nil, fmt.Errorf("read the stream: %w", err)
		}
		apps := map[string]bool{}
		for _, subs := range d.Subscribers {
			for _, a := range subs {
				apps[a] = true
			}
		}
		for app := range apps {
			h, err := handledIn(m.Proc(app).LogPath)
			if err != nil {
				return nil, err
			}
			d.Handled[app] = h
		}
		return d, nil
	}
}

// readStream reads every message on the stream with an ordered consumer.
func readStream(ctx context.Context, url string, into map[string][]string) error {
	nc, err := nats.Connect(url, nats.Timeout(3*time.Second))
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	s, err := js.Stream(ctx, mesh.StreamName)
	if err != nil {
		return err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return err
	}
	last := info.State.LastSeq
	if info.State.Msgs == 0 {
		return nil
	}
	c, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return err
	}
	for {
		batch, err := c.Fetch(500, jetstream.FetchMaxWait(3*time.Second))
		if err != nil {
			return err
		}
		n := 0
		for msg := range batch.Messages() {
			n++
			var ce struct {
				ID    string `json:"id"`
				Topic string `json:"topic"`
			}
			if err := json.Unmarshal(msg.Data(), &ce); err != nil || ce.ID == "" {
				return fmt.Errorf("a message on %s is not a CloudEvent: %v", msg.Subject(), err)
			}
			topic := ce.Topic
			if topic == "" {
				topic = msg.Subject()
			}
			into[topic] = append(into[topic], ce.ID)
			md, err := msg.Metadata()
			if err == nil && md.Sequence.Stream >= last {
				return nil
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return err
		}
		if n == 0 {
			return fmt.Errorf("the stream stopped short of sequence %d", last)
		}
	}
}

var handledLine = regexp.MustCompile(`msg="event handled" .*?\btopic=("[^"]*"|\S+) event=("[^"]*"|\S+)`)

// handledIn counts the deliveries an app's log says it handled, by topic and
// event id.
func handledIn(path string) (map[string]map[string]int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := handledLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		topic, id := strings.Trim(m[1], `"`), strings.Trim(m[2], `"`)
		if out[topic] == nil {
			out[topic] = map[string]int{}
		}
		out[topic][id]++
	}
	return out, sc.Err()
}
