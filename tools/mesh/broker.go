package mesh

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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

// topics are the subjects the stream captures: the event contract's topics.
var topics = []string{"ticket:created", "ticket:updated", "order:created", "order:cancelled", "expiration:complete", "payment:created"}

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
	return natsConsumed(ctx, m.NATSURL(), consumer)
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
	return natsPublish(ctx, m.NATSURL(), topic, cloudEvent)
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
	return natsRange(ctx, m.NATSURL(), topic)
}
