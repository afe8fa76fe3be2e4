-- Version keys: releases of one package whose versions are one version to
-- the ecosystem's clients (PEP 440 `1.0` and `1.0.0`) share a key, and the
-- primary key lets only the first of them commit.

CREATE TABLE IF NOT EXISTS release_keys (
    package TEXT NOT NULL,
    version_key TEXT NOT NULL,
    version TEXT NOT NULL,
    PRIMARY KEY (package, version_key));
