package mesh

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// rabbit is the runner's own RabbitMQ node (Debian's rabbitmq-server), never
// the machine's: its own node name, AMQP and distribution ports, its own epmd
// on its own port, its own Erlang cookie, and its database and logs under
// .mesh/rabbitmq. As root it runs as root: Debian's /usr/sbin wrapper would
// switch to the rabbitmq user, who cannot reach a data directory under /root.
type rabbit struct {
	binDir string // rabbitmq-server and rabbitmqctl, without Debian's wrapper
	dir    string
	node   string
	env    map[string]string
}

func findRabbit() (string, error) {
	for _, d := range []string{"/usr/lib/rabbitmq/bin"} {
		if _, err := os.Stat(filepath.Join(d, "rabbitmq-server")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("rabbitmq-server"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("BROKER=rabbitmq needs rabbitmq-server: run `apt-get install rabbitmq-server`")
}

func (m *Mesh) newRabbit() (*rabbit, error) {
	bin, err := findRabbit()
	if err != nil {
		return nil, err
	}
	if _, err := exec.LookPath("epmd"); err != nil {
		return nil, errors.New("BROKER=rabbitmq needs epmd (package erlang-base, a dependency of rabbitmq-server)")
	}
	dir := filepath.Join(m.dataDir, "rabbitmq")
	home := filepath.Join(dir, "home")
	for _, d := range []string{home, filepath.Join(dir, "mnesia"), filepath.Join(dir, "log")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	// The node and rabbitmqctl authenticate with this cookie; Erlang wants it
	// readable by its owner only.
	cookie := filepath.Join(home, ".erlang.cookie")
	if _, err := os.Stat(cookie); err != nil {
		if err := os.WriteFile(cookie, []byte(strings.ToUpper(randomHex(16))), 0o400); err != nil {
			return nil, err
		}
	}
	conf := fmt.Sprintf(`# written by the runner on every start
listeners.tcp.default = 127.0.0.1:%d
log.console = true
log.file = false
`, m.ports.RabbitMQ)
	if err := os.WriteFile(filepath.Join(dir, "rabbitmq.conf"), []byte(conf), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "enabled_plugins"), []byte("[].\n"), 0o644); err != nil {
		return nil, err
	}
	rb := &rabbit{binDir: bin, dir: dir, node: "tixmesh@localhost"}
	rb.env = map[string]string{
		"HOME":                          home,
		"ERL_EPMD_PORT":                 itoa(m.ports.Epmd),
		"RABBITMQ_NODENAME":             rb.node,
		"RABBITMQ_NODE_IP_ADDRESS":      "127.0.0.1",
		"RABBITMQ_DIST_PORT":            itoa(m.ports.RabbitDist),
		"RABBITMQ_MNESIA_BASE":          filepath.Join(dir, "mnesia"),
		"RABBITMQ_LOG_BASE":             filepath.Join(dir, "log"),
		"RABBITMQ_LOGS":                 "-",
		"RABBITMQ_CONFIG_FILE":          filepath.Join(dir, "rabbitmq.conf"),
		"RABBITMQ_ENABLED_PLUGINS_FILE": filepath.Join(dir, "enabled_plugins"),
		"RABBITMQ_PID_FILE":             filepath.Join(dir, "rabbitmq.pid"),
		// The node must use our epmd, never start a daemon that outlives the mesh.
		"RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-start_epmd false",
	}
	return rb, nil
}

// epmdProc is the Erlang port mapper of our node, in the foreground (so the
// runner stops it) on its own port (so it never meets the machine's).
func (m *Mesh) epmdProc(rb *rabbit) *Proc {
	p := m.proc("epmd", "infra", "epmd", []string{"-port", itoa(m.ports.Epmd), "-address", "127.0.0.1"})
	if path, err := exec.LookPath("epmd"); err == nil {
		p.Path = path
	}
	return p
}

func (m *Mesh) rabbitProc(rb *rabbit) *Proc {
	p := m.proc("rabbitmq", "infra", filepath.Join(rb.binDir, "rabbitmq-server"), nil)
	p.Env = mergeEnv(p.Env, rb.env)
	p.Dir = rb.dir
	return p
}

// RabbitMQURL is the broker's AMQP URL (RabbitMQ's guest user, which it
// admits on loopback only).
func (m *Mesh) RabbitMQURL() string {
	return fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/", m.ports.RabbitMQ)
}

func amqpReady(url string) func(context.Context) error {
	return func(ctx context.Context) error {
		c, err := amqpDial(url)
		if err != nil {
			return err
		}
		return c.Close()
	}
}

func amqpDial(url string) (*amqp.Connection, error) {
	return amqp.DialConfig(url, amqp.Config{Dial: amqp.DefaultDial(2 * time.Second)})
}

// logQueue is RabbitMQ's counterpart of JetStream's stream: a stream queue
// bound to every topic's exchange, kept 7 days, that the tests read without
// consuming anything from the subscribers' queues.
const logQueue = StreamName

// provisionRabbit declares what pubsub.rabbitmq would declare on its first
// subscribe, with exactly its arguments (any difference and its own declare
// fails): per topic a durable fanout exchange; per subscription the durable
// queue <app>-<topic> with its dead-letter exchange dlx-<queue> and lazy
// queue dlq-<queue>. Declared before any sidecar starts, no event can reach an
// exchange whose subscribers' queues do not exist yet (RabbitMQ would drop it).
func provisionRabbit(ctx context.Context, url string, topics []string, subs map[string]subscription) error {
	conn, err := amqpDial(url)
	if err != nil {
		return err
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	defer ch.Close()
	if _, err := ch.QueueDeclare(logQueue, true, false, false, false, amqp.Table{
		amqp.QueueTypeArg: amqp.QueueTypeStream, "x-max-age": "7D",
	}); err != nil {
		return err
	}
	for _, t := range topics {
		if err := ch.ExchangeDeclare(t, amqp.ExchangeFanout, true, false, false, false, nil); err != nil {
			return err
		}
		if err := ch.QueueBind(logQueue, "", t, false, nil); err != nil {
			return err
		}
	}
	for _, s := range sortedSubs(subs) {
		q := s.App + "-" + s.Topic
		dlx, dlq := "dlx-"+q, "dlq-"+q
		if err := ch.ExchangeDeclare(s.Topic, amqp.ExchangeFanout, true, false, false, false, nil); err != nil {
			return err
		}
		if err := ch.ExchangeDeclare(dlx, amqp.ExchangeFanout, true, false, false, false, nil); err != nil {
			return err
		}
		if _, err := ch.QueueDeclare(dlq, true, false, false, false, amqp.Table{"x-queue-mode": "lazy"}); err != nil {
			return err
		}
		if err := ch.QueueBind(dlq, "", dlx, false, nil); err != nil {
			return err
		}
		if _, err := ch.QueueDeclare(q, true, false, false, false, amqp.Table{
			"x-dead-letter-exchange": dlx, amqp.QueueTypeArg: amqp.QueueTypeClassic,
		}); err != nil {
			return err
		}
		if err := ch.QueueBind(q, "", s.Topic, false, nil); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// rabbitConsumed: the subscriber's queue holds nothing ready (AMQP's passive
// declare, cheap) and nothing delivered but unacknowledged, which only the
// node itself can tell (rabbitmqctl, about a second, so asked last).
func (m *Mesh) rabbitConsumed(ctx context.Context, s subscription) (bool, error) {
	q := s.App + "-" + s.Topic
	conn, err := amqpDial(m.RabbitMQURL())
	if err != nil {
		return false, err
	}
	ch, err := conn.Channel()
	if err != nil {
		conn.Close()
		return false, err
	}
	info, err := ch.QueueDeclarePassive(q, true, false, false, false, nil)
	conn.Close()
	if err != nil || info.Messages > 0 {
		return false, nil
	}
	ready, unacked, err := m.rabbitQueueCounts(ctx, q)
	if err != nil {
		return false, err
	}
	return ready == 0 && unacked == 0, nil
}

// rabbitQueueCounts asks the node for a queue's ready and unacknowledged
// message counts.
func (m *Mesh) rabbitQueueCounts(ctx context.Context, queue string) (ready, unacked int, err error) {
	rb := m.rabbit
	cmd := exec.CommandContext(ctx, filepath.Join(rb.binDir, "rabbitmqctl"), "-n", rb.node, "-q",
		"list_queues", "--no-table-headers", "name", "messages_ready", "messages_unacknowledged")
	cmd.Env = mergeEnv(os.Environ(), rb.env)
	cmd.Dir = rb.dir
	out, err := cmd.Output()
	if err != nil {
		return 0, 0, fmt.Errorf("rabbitmqctl list_queues: %w", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[0] == queue {
			ready, _ = strconv.Atoi(f[1])
			unacked, _ = strconv.Atoi(f[2])
			return ready, unacked, nil
		}
	}
	return 0, 0, fmt.Errorf("rabbitmqctl list_queues: no queue %s", queue)
}

func rabbitPublish(ctx context.Context, url, topic string, data []byte) error {
	conn, err := amqpDial(url)
	if err != nil {
		return err
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	if err := ch.Confirm(false); err != nil {
		return err
	}
	conf, err := ch.PublishWithDeferredConfirmWithContext(ctx, topic, "", false, false, amqp.Publishing{
		ContentType: "text/plain", Body: data, DeliveryMode: amqp.Persistent,
	})
	if err != nil {
		return err
	}
	ok, err := conf.WaitContext(ctx)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("RabbitMQ refused the message on %s", topic)
	}
	return nil
}

// rabbitLog reads the stream queue from its first message, without consuming
// it, and returns the bodies of the messages published on topic.
func rabbitLog(ctx context.Context, url, topic string) ([][]byte, error) {
	conn, err := amqpDial(url)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return nil, err
	}
	if err := ch.Qos(500, 0, false); err != nil { // a stream consumer must set a prefetch
		return nil, err
	}
	deliveries, err := ch.ConsumeWithContext(ctx, logQueue, "", false, false, false, false, amqp.Table{"x-stream-offset": "first"})
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for {
		select {
		case d, ok := <-deliveries:
			if !ok {
				return out, nil
			}
			if d.Exchange == topic {
				out = append(out, d.Body)
			}
			_ = d.Ack(false)
		case <-time.After(500 * time.Millisecond):
			return out, nil
		case <-ctx.Done():
			return out, ctx.Err()
		}
	}
}
