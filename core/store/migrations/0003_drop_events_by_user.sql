-- No query reads events by user through this index (event listings filter
-- a scan newest-first with a LIMIT), yet every insert paid for it: with
-- many users its leaf pages are spread over the whole index, so each commit
-- wrote a page per distinct user and, once the index outgrew the page
-- cache, read one back first. Deliveries keep their own per-user index.
DROP INDEX IF EXISTS events_by_user;
