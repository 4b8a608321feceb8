#!/bin/sh
# The nats-stream Job: create the stream TICKETING from stream-ticketing.json,
# or bring an existing one in line with it. Dapr never creates streams, and a
# topic no stream captures cannot be subscribed. Same settings as the local
# runner (tools/mesh/nats.go provisionStreams): file storage, 7 days, a
# 2-minute de-duplication window for our deterministic event ids.
set -eu
config=/stream/stream-ticketing.json
echo "waiting for JetStream at $NATS_URL"
until nats account info >/dev/null 2>&1; do sleep 2; done
if nats stream info TICKETING >/dev/null 2>&1; then
  nats stream edit TICKETING --config "$config" --force
else
  nats stream add --config "$config"
fi
nats stream info TICKETING
