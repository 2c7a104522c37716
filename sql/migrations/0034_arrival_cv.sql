-- A traffic profile's burstiness: the coefficient of variation of the time between requests
-- (1: Poisson, what every profile before it meant).
alter table app.traffic_profiles
  add column arrival_cv double precision not null default 1
    check (arrival_cv >= 0 and arrival_cv <= 5);
