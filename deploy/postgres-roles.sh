#!/bin/sh
# Run once by the postgres image on a new data folder, as the superuser: the two roles and the database of
# README's "Database roles" (the app role exists before the first migration, so the owner needs no CREATEROLE).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" \
  -v app_password="$CUTIS_APP_DB_PASSWORD" -v owner_password="$CUTIS_OWNER_DB_PASSWORD" <<'SQL'
CREATE ROLE cutis_app LOGIN PASSWORD :'app_password' NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
CREATE ROLE cutis_owner LOGIN PASSWORD :'owner_password' NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
CREATE DATABASE cutis OWNER cutis_owner;
SQL
