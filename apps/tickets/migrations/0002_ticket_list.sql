-- GET /api/tickets and the storefront's landing page (ticketStore.forSale):
--   {"filter":{"EQ":{"listing":"for-sale"}},
--    "sort":[{"key":"listedAt","order":"DESC"},{"key":"id","order":"DESC"}],
--    "page":{"limit":50,"token":"100"}}
-- which Dapr's state.postgresql v1 sends as
--   SELECT key, value, xmin as etag FROM state WHERE value->>'listing'=$1
--   ORDER BY value->>'listedAt' DESC, value->>'id' DESC LIMIT 50 OFFSET 100
-- The index holds the filter, then the sort, in the query's very expressions
-- and directions: a page is read in order from the index and the scan stops
-- after OFFSET + LIMIT entries, however many tickets are listed. Not partial:
-- its statistics on value->>'listing' tell the planner how many tickets are
-- for sale.
CREATE INDEX IF NOT EXISTS state_ticket_list ON state
    ((value->>'listing'), (value->>'listedAt') DESC, (value->>'id') DESC);
