-- Slowest routes by p95 latency over the last 15 minutes (p95, not the average, which hides the tail).
select method,
       coalesce(route, '(unmatched)') as route,
       count(*)::int as requests,
       round(percentile_cont(0.50) within group (order by duration_ms)::numeric, 1) as p50_ms,
       round(percentile_cont(0.95) within group (order by duration_ms)::numeric, 1) as p95_ms,
       round(percentile_cont(0.99) within group (order by duration_ms)::numeric, 1) as p99_ms
from app.request_telemetry
where created_at > now() - interval '15 minutes'
group by method, route
order by p95_ms desc
limit 20;
