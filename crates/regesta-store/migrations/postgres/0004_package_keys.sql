-- Name keys: packages of one namespace whose names are one name to the
-- ecosystem's clients (Cargo `foo-bar` and `foo_bar`) share a key, and the
-- primary key lets only the first of them hold it.

CREATE TABLE IF NOT EXISTS package_keys (
    name_key TEXT PRIMARY KEY,
    package TEXT NOT NULL);
