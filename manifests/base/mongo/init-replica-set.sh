#!/bin/bash
# The mongo containers' postStart hook: make this mongod a single-node replica
# set named rs0 the first time it starts; afterwards (the config is on the
# volume) it only checks. The member is named <pod>.<service>:27017, the
# StatefulSet's stable DNS name (the service is the pod name without its
# ordinal), which is what clients are told to connect to.
set -euo pipefail
member="${POD_NAME}.${POD_NAME%-*}:27017"
for _ in $(seq 1 120); do
  if mongosh --quiet --eval 'quit(db.adminCommand({ping: 1}).ok ? 0 : 1)' >/dev/null 2>&1; then
    break
  fi
  sleep 1
done
mongosh --quiet --eval "
  try {
    rs.status();
  } catch (e) {
    if (e.codeName !== 'NotYetInitialized') { throw e; }
    rs.initiate({_id: 'rs0', members: [{_id: 0, host: '${member}'}]});
  }
"
