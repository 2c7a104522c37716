-- Admin and operator (CLI) actions in the last 24 hours, newest first.
select created_at, action, outcome, user_id, resource_type, resource_id, ip_address, request_id
from app.audit_log
where created_at > now() - interval '24 hours'
  and (action like 'admin.%' or action like 'cli.%')
order by id desc
limit 100;
