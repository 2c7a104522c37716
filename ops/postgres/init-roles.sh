#!/bin/sh
# Runs once, on a new data volume, as the image's superuser (docker-entrypoint-initdb.d): the
# cluster's roles (sql/roles.sql), their passwords, and the database handed to its owner.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" --file /sdc/roles.sql
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  --set owner_password="$SDC_OWNER_PASSWORD" \
  --set app_password="$SDC_APP_PASSWORD" \
  --set grafana_password="$SDC_GRAFANA_PASSWORD" \
  --set backup_password="$SDC_BACKUP_PASSWORD" \
  --set database="$POSTGRES_DB" <<'SQL'
alter role sdc_owner password :'owner_password';
alter role sdc_app_login password :'app_password';
alter role sdc_grafana password :'grafana_password';
alter role sdc_backup password :'backup_password';
alter database :"database" owner to sdc_owner;
SQL
