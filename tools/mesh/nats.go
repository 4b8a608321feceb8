package mesh

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go"
)

// StreamName is the JetStream stream that holds every topic.
const StreamName = "TICKETING"

// natsProc writes the NATS config and returns the process. JetStream syncs
// every write to disk before acknowledging it (sync_interval: always): the
// default acknowledges before fsync, and an OS crash could lose acknowledged
// events.
func (m *Mesh) natsProc() (*Proc, error) {
	dir := filepath.Join(m.dataDir, "nats")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	conf := fmt.Sprintf(`# written by the runner on every start
server_name: tixmesh
listen: %s:%d
http: %s:%d
jetstream {
  store_dir: %q
  sync_interval: always
  max_memory_store: 64MB
  max_file_store: 4GB
}
`, m.brokerHost(), m.ports.NATS, m.brokerHost(), m.ports.NATSHTTP, dir)
	path := filepath.Join(dir, "nats.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	p := m.proc("nats", "infra", m.bin("nats-server"), []string{"-c", path})
	p.netns = m.netns // nil unless Options.IsolateBroker
	return p, nil
}

// brokerHost is the address the broker listens on: loopback, or its network
// namespace's end of the veth pair when isolated.
func (m *Mesh) brokerHost() string {
	if m.netns != nil {
		return m.netns.NSIP.String()
	}
	return "127.0.0.1"
}

// NATSURL is the broker's client URL.
func (m *Mesh) NATSURL() string { return fmt.Sprintf("nats://%s:%d", m.brokerHost(), m.ports.NATS) }

// NATSMonitorURL is the base URL of the broker's monitoring endpoint (/varz,
// /jsz, ...).
func (m *Mesh) NATSMonitorURL() string {
	return fmt.Sprintf("http://%s:%d", m.brokerHost(), m.ports.NATSHTTP)
}

// provisionStreams creates (or updates) the stream that captures every topic.
// Dapr never creates streams: a topic without one cannot be subscribed.
func provisionStreams(ctx context.Context, url string, subjects []string) error {
	nc, err := nats.Connect(url, nats.Timeout(2*time.Second))
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := nc.JetStream(nats.Context(ctx))
	if err != nil {
		return err
	}
	cfg := &nats.StreamConfig{
		Name:       StreamName,
		Subjects:   subjects,
		Storage:    nats.FileStorage,
		Retention:  nats.LimitsPolicy,
		MaxAge:     7 * 24 * time.Hour,
		Duplicates: 2 * time.Minute, // de-duplication window for Nats-Msg-Id (our event ids)
		Replicas:   1,
	}
	if _, err := js.StreamInfo(StreamName, nats.Context(ctx)); errors.Is(err, nats.ErrStreamNotFound) {
		_, err = js.AddStream(cfg, nats.Context(ctx))
		return err
	} else if err != nil {
		return err
	}
	_, err = js.UpdateStream(cfg, nats.Context(ctx))
	return err
}

func natsReady(url string) func(context.Context) error {
	return func(ctx context.Context) error {
		nc, err := nats.Connect(url, nats.Timeout(time.Second))
		if err != nil {
			return err
		}
		defer nc.Close()
		js, err := nc.JetStream(nats.Context(ctx))
		if err != nil {
			return err
		}
		_, err = js.AccountInfo(nats.Context(ctx))
		return err
	}
}

// natsConsumed reports whether the durable consumer has nothing pending,
// nothing awaiting an ack, nothing being redelivered.
func natsConsumed(ctx context.Context, url, consumer string) (bool, error) {
	nc, err := nats.Connect(url, nats.Timeout(2*time.Second))
	if err != nil {
		return false, err
	}
	defer nc.Close()
	js, err := nc.JetStream()
	if err != nil {
		return false, err
	}
	info, err := js.ConsumerInfo(StreamName, consumer, nats.Context(ctx))
	if err != nil {
		return false, nil // not created yet: its sidecar has not subscribed
	}
	return info.NumPending == 0 && info.NumAckPending == 0 && info.NumRedelivered == 0, nil
}

// natsPublish puts data on the topic's subject, as a sidecar would.
func natsPublish(ctx context.Context, url, topic string, data []byte) error {
	nc, err := nats.Connect(url, nats.Timeout(2*time.Second))
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := nc.JetStream()
	if err != nil {
		return err
	}
	_, err = js.Publish(topic, data, nats.Context(ctx))
	return err
}

// natsRange returns every message of the stream on the topic's subject.
func natsRange(ctx context.Context, url, topic string) ([][]byte, error) {
	nc, err := nats.Connect(url, nats.Timeout(2*time.Second))
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	js, err := nc.JetStream()
	if err != nil {
		return nil, err
	}
	sub, err := js.SubscribeSync(topic, nats.DeliverAll(), nats.AckNone())
	if err != nil {
		return nil, err
	}
	defer sub.Unsubscribe()
	var out [][]byte
	for {
		msg, err := sub.NextMsg(500 * time.Millisecond)
		if err != nil {
			return out, nil
		}
		out = append(out, msg.Data)
	}
}
