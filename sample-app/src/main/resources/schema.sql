CREATE TABLE IF NOT EXISTS account (
    id            text   PRIMARY KEY,
    balance       bigint NOT NULL,
    fencing_token bigint NOT NULL
);
