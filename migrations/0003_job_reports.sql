-- Delivery reports for outgoing fax jobs (email-to-fax).
--
-- report_to: the mailbox that receives the delivery report (the mail
-- sender); NULL when nobody asked for one (e.g. `faxbridge send`).
-- subject: what the job is about (the mail subject), for reports and lists.
-- report_state: NULL while no report is due; 'pending' once the job reached
-- a final state and its report must be mailed; 'queued' once the report is
-- in the mail outbox (committed in the same transaction as the outbox row).
ALTER TABLE fax_job ADD COLUMN report_to TEXT;
ALTER TABLE fax_job ADD COLUMN subject TEXT NOT NULL DEFAULT '';
ALTER TABLE fax_job ADD COLUMN report_state TEXT;
