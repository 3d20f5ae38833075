-- The key of the session cookies (step 20), kept in the database rather
-- than in a file beside it: there is no file now, and every copy of the
-- app that uses this database signs and reads the same cookies.
CREATE TABLE session_key (
    only_one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_one),
    key      BYTEA NOT NULL
);
