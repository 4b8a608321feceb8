// Package mesh runs the whole marketplace on one machine without containers:
// a broker (NATS with JetStream, Redis or RabbitMQ), PostgreSQL, the Dapr
// control plane (placement, scheduler), stripe-mock, and every app of
// dapr.yaml beside its own daprd, behind one public origin routed exactly as
// the cluster's Gateway routes (the HTTPRoute of manifests/base/gateway.yaml).
//
// `make up` (cmd/mesh), the end-to-end suite (tools/e2e) and the fault run
// (tools/chaos) use the same code: the tests only ask for free ports and a
// temporary data directory. Up starts a Mesh; its methods read it (URLs,
// ports, processes, the broker's streams, the Stripe calls), and Control
// changes it (crashes and restarts, replicas, network cuts). README.md says
// which file holds what.
package mesh
