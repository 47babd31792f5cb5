-- vector 0.1.0: an empty companion extension of semvec.
--
-- Tools written for pgvector hard-code "CREATE EXTENSION [IF NOT EXISTS] vector".
-- This extension exists only so that statement succeeds: "requires = 'semvec'"
-- in vector.control makes PostgreSQL demand (or, with CASCADE, create) semvec,
-- which owns the vector type and everything else.  Dropping this extension
-- therefore drops nothing but itself.

\echo Use "CREATE EXTENSION vector" to load this file. \quit
