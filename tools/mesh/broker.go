package mesh

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"gopkg.in/yaml.v3"
)

// The brokers the runner can start. Each has a component set under
// components/brokers/<name>/ with the same component names (`pubsub`, and
// `<app>-<topic>` per subscription), so the apps and the subscriptions never
// change when the broker does.
const (
	JetStream = "jetstream"
	Redis     = "redis"
	RabbitMQ  = "rabbitmq"
)

// Brokers are the brokers the runner can start, the default first.
var Brokers = []string{JetStream, Redis, RabbitMQ}

// Broker is the broker this mesh runs.
func (m *Mesh) Broker() string { return m.opts.Broker }

func checkBroker(repoDir, broker string) error {
	known := false
	for _, b := range Brokers {
		known = known || b == broker
	}
	if !known {
		return fmt.Errorf("BROKER=%s: the runner can start %s", broker, strings.Join(Brokers, ", "))
	}
	if st, err := os.Stat(filepath.Join(repoDir, "components", "brokers", broker)); err != nil || !st.IsDir() {
		return fmt.Errorf("BROKER=%s: no component set components/brokers/%s", broker, broker)
	}
	return nil
}

// waiter is an infrastructure process and how to tell it is ready.
type waiter struct {
	p     *Proc
	what  string
	ready func(context.Context) error
}

// brokerProcs are the processes of the chosen broker, yet to be started and
// waited for (RabbitMQ's epmd is started and ready already: were it not
// listening when the node boots, the node would start a daemon epmd of its own
// that outlives the mesh).
func (m *Mesh) brokerProcs(ctx context.Context) ([]waiter, error) {
	switch m.opts.Broker {
	case Redis:
		p, err := m.redisProc()
		if err != nil {
			return nil, err
		}
		return []waiter{{p, "PING", redisReady(m.redisAddr())}}, nil
	case RabbitMQ:
		rb, err := m.newRabbit()
		if err != nil {
			return nil, err
		}
		m.rabbit = rb
		epmd := m.epmdProc(rb)
		if err := m.start(epmd); err != nil {
			return nil, err
		}
		if err := waitReady(ctx, epmd, "tcp", m.readiness("epmd")); err != nil {
			return nil, err
		}
		return []waiter{{m.rabbitProc(rb), "AMQP", amqpReady(m.RabbitMQURL())}}, nil
	default:
		p, err := m.natsProc()
		if err != nil {
			return nil, err
		}
		return []waiter{{p, "JetStream", natsReady(m.NATSURL())}}, nil
	}
}

// provisionBroker creates what Dapr does not (or not in time): JetStream's
// stream; RabbitMQ's exchanges and queues, so that nothing published before a
// subscriber's sidecar first started is dropped; Redis's consumer groups.
func (m *Mesh) provisionBroker(ctx context.Context) error {
	switch m.opts.Broker {
	case Redis:
		if err := provisionRedis(ctx, m.redisAddr(), m.subs); err != nil {
			return fmt.Errorf("provisioning Redis consumer groups: %w", err)
		}
	case RabbitMQ:
		if err := provisionRabbit(ctx, m.RabbitMQURL(), topics, m.subs); err != nil {
			return fmt.Errorf("provisioning RabbitMQ exchanges and queues: %w", err)
		}
	default:
		subjects := make([]string, 0, len(topics))
		subjects = append(subjects, topics...)
		if err := provisionStreams(ctx, m.NATSURL(), subjects); err != nil {
			return fmt.Errorf("provisioning JetStream streams: %w", err)
		}
	}
	return nil
}

// brokerSecrets are the URLs the chosen broker's components read.
func (m *Mesh) brokerSecrets(secrets map[string]string) {
	secrets["nats-url"] = m.NATSURL()
	switch m.opts.Broker {
	case Redis:
		secrets["redis-host"] = m.redisAddr()
	case RabbitMQ:
		secrets["rabbitmq-url"] = m.RabbitMQURL()
	}
}

func (m *Mesh) brokerSummary() string {
	switch m.opts.Broker {
	case Redis:
		return fmt.Sprintf("redis :%d", m.ports.Redis)
	case RabbitMQ:
		return fmt.Sprintf("rabbitmq :%d", m.ports.RabbitMQ)
	}
	if m.netns != nil {
		return fmt.Sprintf("nats %s:%d in network namespace %s", m.brokerHost(), m.ports.NATS, m.netns.Name)
	}
	return fmt.Sprintf("nats :%d", m.ports.NATS)
}

// brokerPorts are the ports `make up` needs for the chosen broker.
func (m *Mesh) brokerPorts(want map[string]int) {
	switch m.opts.Broker {
	case Redis:
		want["redis"] = m.ports.Redis
	case RabbitMQ:
		want["rabbitmq"] = m.ports.RabbitMQ
		want["rabbitmq distribution"] = m.ports.RabbitDist
		want["rabbitmq epmd"] = m.ports.Epmd
	default:
		want["nats"], want["nats monitoring"] = m.ports.NATS, m.ports.NATSHTTP
	}
}

// subscription is one declarative subscription: the component that carries
// it, the app that receives it, and its topic.
type subscription struct {
	Component, App, Topic string
}

// loadSubscriptions reads the declarative subscriptions in the resources
// paths, so that the runner provisions (and the tests probe) exactly what the
// sidecars subscribe.
func (m *Mesh) loadSubscriptions() error {
	m.subs = map[string]subscription{}
	for _, dir := range m.resourcesPaths() {
		files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			dec := yaml.NewDecoder(bytes.NewReader(b))
			for {
				var doc struct {
					Kind string
					Spec struct {
						PubsubName string `yaml:"pubsubname"`
						Topic      string
					}
					Scopes []string
				}
				if err := dec.Decode(&doc); err != nil {
					if errors.Is(err, io.EOF) {
						break
					}
					return fmt.Errorf("%s: %w", f, err)
				}
				if doc.Kind != "Subscription" || len(doc.Scopes) != 1 {
					continue
				}
				m.subs[doc.Spec.PubsubName] = subscription{Component: doc.Spec.PubsubName, App: doc.Scopes[0], Topic: doc.Spec.Topic}
			}
		}
	}
	return nil
}

// sortedSubs returns the subscriptions in a stable order.
func sortedSubs(subs map[string]subscription) []subscription {
	out := make([]subscription, 0, len(subs))
	for _, s := range subs {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Component < out[j].Component })
	return out
}

// Consumed reports whether the subscription component named consumer (for
// example "orders-ticket-created") has handled, and acknowledged, everything
// published on its topic so far:
//   - JetStream: its durable consumer has nothing pending, nothing awaiting an
//     ack, nothing being redelivered;
//   - Redis: its consumer group has read up to the stream's last entry and has
//     no entry pending (read but not acknowledged);
//   - RabbitMQ: its queue holds no message, ready or unacknowledged (the
//     unacknowledged count comes from rabbitmqctl, asked only once the cheap
//     AMQP check finds nothing ready).
func (m *Mesh) Consumed(ctx context.Context, consumer string) (bool, error) {
	switch m.opts.Broker {
	case Redis, RabbitMQ:
		s, ok := m.subs[consumer]
		if !ok {
			return false, fmt.Errorf("no subscription through component %q", consumer)
		}
		if m.opts.Broker == Redis {
			return redisConsumed(ctx, m.redisAddr(), s)
		}
		return m.rabbitConsumed(ctx, s)
	}
	nc, err := nats.Connect(m.NATSURL(), nats.Timeout(2*time.Second))
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

// PublishRaw puts a CloudEvent on the broker exactly as a publisher's sidecar
// would (JetStream: a message on the subject; Redis: XADD with the event in the
// `data` field; RabbitMQ: a persistent, confirmed message on the topic's
// exchange), bypassing the sidecar, and so any de-duplication by event id.
func (m *Mesh) PublishRaw(ctx context.Context, topic string, cloudEvent []byte) error {
	switch m.opts.Broker {
	case Redis:
		return redisPublish(ctx, m.redisAddr(), topic, cloudEvent)
	case RabbitMQ:
		return rabbitPublish(ctx, m.RabbitMQURL(), topic, cloudEvent)
	}
	nc, err := nats.Connect(m.NATSURL(), nats.Timeout(2*time.Second))
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := nc.JetStream()
	if err != nil {
		return err
	}
	_, err = js.Publish(topic, cloudEvent, nats.Context(ctx))
	return err
}

// Published returns every message published on topic so far, as the broker
// keeps them: JetStream's stream TICKETING, the Redis stream named after the
// topic, or RabbitMQ's stream queue TICKETING that the runner binds to every
// topic's exchange.
func (m *Mesh) Published(ctx context.Context, topic string) ([][]byte, error) {
	switch m.opts.Broker {
	case Redis:
		return redisRange(ctx, m.redisAddr(), topic)
	case RabbitMQ:
		return rabbitLog(ctx, m.RabbitMQURL(), topic)
	}
	nc, err := nats.Connect(m.NATSURL(), nats.Timeout(2*time.Second))
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
