-- The reconciler's scan of the payments whose outcome is still open
-- (paymentStore.openBefore), once per open status:
--   {"filter":{"EQ":{"status":"pending"}},"page":{"limit":200,"token":""}}
-- which Dapr's state.postgresql v1 sends as
--   SELECT key, value, xmin as etag FROM state WHERE value->>'status'=$1 LIMIT 200
-- Only open payments are indexed: few at any time, whatever the history. The
-- predicate is proven from the bound status, so PostgreSQL plans the query
-- with its value (a custom plan; the generic plan, a table scan, costs more
-- and is never chosen).
CREATE INDEX IF NOT EXISTS state_open_payments ON state ((value->>'status'))
    WHERE value->>'status' IN ('pending', 'requires_action', 'processing');
