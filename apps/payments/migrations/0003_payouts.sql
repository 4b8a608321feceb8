-- Sellers' payouts (Connect): the shares waiting for a seller to connect
-- (paymentStore.pendingTransfers), scanned when a seller's account becomes
-- ready and by the reconciler,
--   {"filter":{"EQ":{"transfer":"pending"}},"page":{"limit":200,"token":""}}
-- and a seller's sales (paymentStore.salesOf, the "My sales" page),
--   {"filter":{"EQ":{"sellerId":"<user id>"}},"page":{"limit":200,"token":""}}
-- which Dapr's state.postgresql v1 sends as
--   SELECT key, value, xmin as etag FROM state WHERE value->>'transfer'=$1 LIMIT 200
--   SELECT key, value, xmin as etag FROM state WHERE value->>'sellerId'=$1 LIMIT 200
-- Only waiting shares are in the first index: few at any time, whatever the
-- history (a custom plan proves the predicate from the bound value, as for
-- state_open_payments). Every payment names its seller, so the second holds
-- each payment once; its predicate is implied by = whatever $1 is.
CREATE INDEX IF NOT EXISTS state_pending_transfers ON state ((value->>'transfer'))
    WHERE value->>'transfer' = 'pending';
CREATE INDEX IF NOT EXISTS state_sales ON state ((value->>'sellerId'))
    WHERE value->>'sellerId' IS NOT NULL;
