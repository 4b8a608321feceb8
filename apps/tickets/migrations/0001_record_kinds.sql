-- The scans by record kind: the outbox relay's
--   {"filter":{"EQ":{"kind":"outbox"}},"page":{"limit":200}}   (apps/pkg/store/outbox.go)
-- and the hold sweep's {"filter":{"EQ":{"kind":"hold"}},"page":{"limit":200}} (holds.go).
-- Dapr's state.postgresql v1 sends the outbox scan as
--   SELECT key, value, xmin as etag FROM state WHERE value->>'kind'=$1 LIMIT 200
-- Only the few records that have a kind are indexed. The index predicate is
-- implied by `value->>'kind' = $1` whatever $1 is (= is strict), so PostgreSQL
-- uses the index with generic plans of Dapr's prepared statement too.
CREATE INDEX IF NOT EXISTS state_kind ON state ((value->>'kind'))
    WHERE value->>'kind' IS NOT NULL;
