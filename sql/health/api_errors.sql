-- API errors (4xx and 5xx) by route and status over the last 15 minutes.
select method,
       coalesce(route, '(unmatched)') as route,
       status_code,
       count(*)::int as requests,
       max(created_at) as last_seen
from app.request_telemetry
where created_at > now() - interval '15 minutes'
  and status_code >= 400
group by method, route, status_code
order by requests desc
limit 50;
