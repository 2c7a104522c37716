-- The application's schema; pg-boss owns schema pgboss.
create schema if not exists app;
