-- A traffic profile may carry a monthly budget (USD): the grade then holds the design's cost to it.
alter table app.traffic_profiles
  add column budget_per_month double precision
    check (budget_per_month is null or (budget_per_month >= 0 and budget_per_month <= 1e9));
