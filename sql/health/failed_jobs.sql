-- Jobs that failed for good in the last 24 hours, by queue, with the latest error.
select queue,
       count(*)::int as failed,
       max(created_at) as last_failed_at,
       (array_agg(error_message order by created_at desc))[1] as last_error
from app.job_telemetry
where created_at > now() - interval '24 hours'
  and event = 'failed'
group by queue
order by failed desc;
