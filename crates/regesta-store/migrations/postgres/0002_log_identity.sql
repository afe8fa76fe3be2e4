-- Who the log is: its origin and verifier key, recorded once.

CREATE TABLE IF NOT EXISTS log_identity (
    id SMALLINT PRIMARY KEY CHECK (id = 1),
    origin TEXT NOT NULL,
    verifier_key TEXT NOT NULL);
