-- Clients locked out of an email right now, and emails whose logins are slowed for every client
-- (client_key '*'); the key is the normalised email, whether or not an account exists.
select l.email_normalized,
       l.client_key,
       l.failed_count,
       l.locked_until,
       l.next_attempt_at,
       u.id as user_id
from app.login_lockouts l
left join app.users u on u.email_normalized = l.email_normalized
where l.locked_until > now()
   or l.next_attempt_at > now()
order by greatest(l.locked_until, l.next_attempt_at) desc;
