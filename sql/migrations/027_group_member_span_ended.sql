-- The spans that ended, by their end: push_reap prunes those that ended
-- before the oldest event kept, at every pruning of the events, without
-- reading the spans under way (one per active membership).
CREATE INDEX group_member_span_ended ON group_member_span (ended)
    WHERE ended IS NOT NULL;
