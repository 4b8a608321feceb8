package mesh

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// redisProc is the runner's own Redis (Debian's redis-server), never the
// machine's: its own port and data directory. Every write is appended to the
// AOF and fsynced before Redis answers (appendfsync always), so an
// acknowledged XADD survives a crash; no RDB snapshots.
func (m *Mesh) redisProc() (*Proc, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, errors.New("BROKER=redis needs redis-server: run `apt-get install redis-server`")
	}
	dir := filepath.Join(m.dataDir, "redis")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return m.proc("redis", "infra", bin, []string{
		"--port", itoa(m.ports.Redis),
		"--bind", "127.0.0.1",
		"--protected-mode", "yes",
		"--daemonize", "no",
		"--dir", dir,
		"--appendonly", "yes",
		"--appendfsync", "always",
		"--save", "",
		"--logfile", "",
	}), nil
}

func (m *Mesh) redisAddr() string { return fmt.Sprintf("127.0.0.1:%d", m.ports.Redis) }

func redisReady(addr string) func(context.Context) error {
	return func(ctx context.Context) error {
		c, err := dialRedis(ctx, addr)
		if err != nil {
			return err
		}
		defer c.Close()
		v, err := c.do("PING")
		if err != nil {
			return err
		}
		if v != "PONG" {
			return fmt.Errorf("PING answered %v", v)
		}
		return nil
	}
}

// provisionRedis creates every subscriber's consumer group from the stream's
// first entry, as Dapr would on its first subscribe (it ignores BUSYGROUP).
func provisionRedis(ctx context.Context, addr string, subs map[string]subscription) error {
	c, err := dialRedis(ctx, addr)
	if err != nil {
		return err
	}
	defer c.Close()
	for _, s := range sortedSubs(subs) {
		if _, err := c.do("XGROUP", "CREATE", s.Topic, s.App, "0", "MKSTREAM"); err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
			return err
		}
	}
	return nil
}

// redisConsumed: the group has been handed every entry (its last-delivered id
// is the stream's last id) and none is pending (handed out, not acknowledged).
func redisConsumed(ctx context.Context, addr string, s subscription) (bool, error) {
	c, err := dialRedis(ctx, addr)
	if err != nil {
		return false, err
	}
	defer c.Close()
	info, err := c.do("XINFO", "STREAM", s.Topic)
	if err != nil {
		return false, nil // no stream yet
	}
	last := field(info, "last-generated-id")
	groups, err := c.do("XINFO", "GROUPS", s.Topic)
	if err != nil {
		return false, err
	}
	list, _ := groups.([]any)
	for _, g := range list {
		if field(g, "name") != s.App {
			continue
		}
		pending, _ := fieldValue(g, "pending").(int64)
		return pending == 0 && field(g, "last-delivered-id") == last, nil
	}
	return false, nil // no group yet
}

func redisPublish(ctx context.Context, addr, topic string, data []byte) error {
	c, err := dialRedis(ctx, addr)
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.do("XADD", topic, "*", "data", string(data))
	return err
}

// redisRange returns the `data` field of every entry of the stream topic.
func redisRange(ctx context.Context, addr, topic string) ([][]byte, error) {
	c, err := dialRedis(ctx, addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	v, err := c.do("XRANGE", topic, "-", "+")
	if err != nil {
		return nil, err
	}
	entries, _ := v.([]any)
	out := make([][]byte, 0, len(entries))
	for _, e := range entries {
		pair, _ := e.([]any)
		if len(pair) == 2 {
			out = append(out, []byte(field(pair[1], "data")))
		}
	}
	return out, nil
}

// field reads a string from a RESP2 map reply (a flat key, value list).
func field(v any, key string) string {
	s, _ := fieldValue(v, key).(string)
	return s
}

func fieldValue(v any, key string) any {
	kv, _ := v.([]any)
	for i := 0; i+1 < len(kv); i += 2 {
		if k, _ := kv[i].(string); k == key {
			return kv[i+1]
		}
	}
	return nil
}

// respConn is the few Redis commands the runner and the tests need, in RESP2,
// rather than a client library.
type respConn struct {
	net.Conn
	r *bufio.Reader
}

func dialRedis(ctx context.Context, addr string) (*respConn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	} else {
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	}
	return &respConn{Conn: c, r: bufio.NewReader(c)}, nil
}

// do sends one command and returns its reply: a string, an int64, a []any,
// nil, or an error for a Redis error reply.
func (c *respConn) do(args ...string) (any, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(c.Conn, b.String()); err != nil {
		return nil, err
	}
	return c.read()
}

func (c *respConn) read() (any, error) {
	line, err := c.r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return nil, errors.New("redis: empty reply")
	}
	switch line[0] {
	case '+':
		return line[1:], nil
	case '-':
		return nil, errors.New(line[1:])
	case ':':
		return strconv.ParseInt(line[1:], 10, 64)
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return nil, err
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(c.r, buf); err != nil {
			return nil, err
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return nil, err
		}
		out := make([]any, n)
		for i := range out {
			if out[i], err = c.read(); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("redis: unexpected reply %q", line)
}
