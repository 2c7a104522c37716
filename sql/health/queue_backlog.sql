-- Jobs waiting per queue and the age of the oldest one.
select name as queue,
       count(*) filter (where state in ('created', 'retry'))::int as waiting,
       count(*) filter (where state = 'active')::int as active,
       count(*) filter (where state = 'failed')::int as failed,
       min(created_on) filter (where state in ('created', 'retry')) as oldest_waiting_since,
       extract(epoch from now() - min(created_on) filter (where state in ('created', 'retry')))::int as oldest_waiting_seconds
from pgboss.job
where name not like '\_\_%'
group by name
order by waiting desc;
