-- txbox migration 2: held_back_index
-- Generated from packages/core/src/schema/migrations.ts for the default names
-- (schema "txbox"). Apply in order with your migration tool, or let
-- migrate(db) / `txbox migrate` do it (they also record the version).
BEGIN;
-- Messages held back behind their key's failed head (available_at =
-- 'infinity', attempts = 0: out of the ready index, so claims do not walk
-- past them). Released by key when the head is published or goes dead.
CREATE INDEX IF NOT EXISTS outbox_held_idx ON "txbox"."outbox" (key, id) WHERE available_at = 'infinity';
CREATE TABLE IF NOT EXISTS "txbox"."txbox_migrations" (
  version integer NOT NULL,
  name text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now(),
  -- The table set the migration was applied to; NULL in rows written by
  -- releases that kept one version per schema.
  outbox_table text,
  dead_table text,
  inbox_table text
);
-- A ledger of those releases: add the table set, and key rows by it instead of by version alone.
ALTER TABLE "txbox"."txbox_migrations"
  ADD COLUMN IF NOT EXISTS outbox_table text,
  ADD COLUMN IF NOT EXISTS dead_table text,
  ADD COLUMN IF NOT EXISTS inbox_table text,
  DROP CONSTRAINT IF EXISTS txbox_migrations_pkey;
CREATE UNIQUE INDEX IF NOT EXISTS txbox_migrations_table_set_idx ON "txbox"."txbox_migrations" (outbox_table, dead_table, inbox_table, version);
INSERT INTO "txbox"."txbox_migrations" (version, name, outbox_table, dead_table, inbox_table)
VALUES (2, 'held_back_index', 'outbox', 'outbox_dead', 'inbox') ON CONFLICT DO NOTHING;
COMMIT;
