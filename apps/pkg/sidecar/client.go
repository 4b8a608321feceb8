package sidecar

import (
	"context"
	"fmt"
	"net/http"
	"time"

	dapr "github.com/dapr/go-sdk/client"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/tixmesh/ticketing/apps/pkg/tracing"
)

// Connect returns a client of the sidecar at grpcAddr once the sidecar says its
// components are loaded (GET /v1.0/healthz/outbound on httpAddr). It never
// needs the sidecar to be up first: it waits, up to ctx's deadline, so an app
// and its sidecar can start in any order.
func Connect(ctx context.Context, grpcAddr, httpAddr string) (dapr.Client, error) {
	if err := WaitOutbound(ctx, httpAddr); err != nil {
		return nil, err
	}
	conn, err := grpc.NewClient(grpcAddr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(propagateTrace))
	if err != nil {
		return nil, fmt.Errorf("sidecar at %s: %w", grpcAddr, err)
	}
	return dapr.NewClientWithConnection(conn), nil
}

// propagateTrace passes the request's W3C trace context to the sidecar, which
// continues the trace into state calls and published events.
func propagateTrace(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if tp := tracing.Parent(ctx); tp != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "traceparent", tp)
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}

// WaitOutbound polls the sidecar's outbound health endpoint until it answers
// 2xx, backing off from 20 ms to 1 s.
func WaitOutbound(ctx context.Context, httpAddr string) error {
	url := "http://" + httpAddr + "/v1.0/healthz/outbound"
	client := &http.Client{Timeout: 2 * time.Second}
	delay := 20 * time.Millisecond
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode/100 == 2 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("sidecar at %s never became ready: %w", httpAddr, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(delay*2, time.Second)
	}
}

// Secret reads one secret from a secret store component through the sidecar.
func Secret(ctx context.Context, client dapr.Client, store, name string) (string, error) {
	data, err := client.GetSecret(ctx, store, name, nil)
	if err != nil {
		return "", fmt.Errorf("secret %q from %q: %w", name, store, err)
	}
	if v, ok := data[name]; ok && v != "" {
		return v, nil
	}
	if len(data) == 1 { // Kubernetes secrets: one key, whatever its name
		for _, v := range data {
			if v != "" {
				return v, nil
			}
		}
	}
	return "", fmt.Errorf("secret %q from %q is empty", name, store)
}
