-- Half of each page of messages is left free (it was a tenth). A delivered
-- mark writes a new version of its row, which stays on the row's page (a
-- HOT update: no entry in any index, the search keys' among them) only if
-- the page has room for it. On a busy service the marks come milliseconds
-- after the sends, while their page is still being filled and, held by
-- the sends, can seldom be pruned: every row on it needs room for its
-- second version. With a tenth free, 6 marks in 10 wrote an entry in
-- every index of the table (docs/PERFORMANCE.md). New pages only: those
-- written so far keep the room they have.
ALTER TABLE message SET (fillfactor = 50);
