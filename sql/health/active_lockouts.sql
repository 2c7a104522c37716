-- Emails locked out right now (the key is the normalised email, whether or not an account exists).
select l.email_normalized,
       l.failed_count,
       l.locked_until,
       u.id as user_id
from app.login_lockouts l
left join app.users u on u.email_normalized = l.email_normalized
where l.locked_until > now()
order by l.locked_until desc;
