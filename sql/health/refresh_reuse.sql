-- Refresh-token reuse (a rotated token presented again: the family was revoked) in the last 24 hours.
select created_at, user_id, resource_id as family_id, ip_address, user_agent, request_id
from app.audit_log
where created_at > now() - interval '24 hours'
  and action = 'auth.refresh.reuse'
order by id desc;
