package mesh

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// waiter is an infrastructure process and how to tell it is ready.
type waiter struct {
	p     *Proc
	what  string
	ready func(context.Context) error
}

// waitReady polls ready until it succeeds, the process exits (an error that
// quotes its log), or ctx ends.
func waitReady(ctx context.Context, p *Proc, what string, ready func(context.Context) error) error {
	delay := 10 * time.Millisecond
	var last error
	for {
		if exited, err := p.Exited(); exited {
			return fmt.Errorf("%s exited during start-up (%v); last lines of %s:\n%s", p.Name, err, p.LogPath, indent(p.Tail(15)))
		}
		attempt, cancel := context.WithTimeout(ctx, 2*time.Second)
		last = ready(attempt)
		cancel()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not become ready (%s: %v); last lines of %s:\n%s", p.Name, what, last, p.LogPath, indent(p.Tail(15)))
		case <-time.After(delay):
		}
		delay = min(delay*2, 250*time.Millisecond)
	}
}

func waitAll(ctx context.Context, n int, f func(i int) error) error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = f(i) }()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// readiness returns how to tell that the named process is ready.
func (m *Mesh) readiness(name string) func(context.Context) error {
	switch name {
	case "nats":
		return natsReady(m.NATSURL())
	case "redis":
		return redisReady(m.redisAddr())
	case "rabbitmq":
		return amqpReady(m.RabbitMQURL())
	case "epmd":
		return tcpReady(fmt.Sprintf("127.0.0.1:%d", m.ports.Epmd))
	case "postgres":
		return pgReady(m.PostgresURL("postgres"))
	case "placement":
		return httpReady(fmt.Sprintf("http://127.0.0.1:%d/healthz", m.ports.PlaceHTTP))
	case "scheduler":
		return httpReady(fmt.Sprintf("http://127.0.0.1:%d/healthz", m.ports.SchedHTTP))
	case "stripe-mock":
		return tcpReady(fmt.Sprintf("127.0.0.1:%d", m.ports.StripeMock))
	}
	for id, ap := range m.apps {
		switch name {
		case id:
			a, _ := m.runFile.App(m.instanceOf[id])
			return httpReady(fmt.Sprintf("http://127.0.0.1:%d%s", ap.App, healthPath(a)))
		case id + "-daprd":
			return httpReady(fmt.Sprintf("http://127.0.0.1:%d/v1.0/healthz", ap.DaprHTTP))
		}
	}
	return nil
}

func httpReady(url string) func(context.Context) error {
	return func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("%s answered %d", url, resp.StatusCode)
		}
		return nil
	}
}

func tcpReady(addr string) func(context.Context) error {
	return func(ctx context.Context) error {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return c.Close()
	}
}
