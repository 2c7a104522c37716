-- Per-user quotas count a user's runs and exports on every creation: index them by owner.
create index simulation_runs_owner_created_idx on app.simulation_runs (owner_id, created_at desc);
create index report_exports_owner_created_idx on app.report_exports (owner_id, created_at desc);
create index simulation_runs_owner_active_idx on app.simulation_runs (owner_id) where status in ('queued', 'running');
