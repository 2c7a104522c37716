-- Clients locked out of an email right now, devices locked out of their account (client_key
-- 'device'), and emails whose unknown clients are challenged with a sign-in link (client_key '*':
-- 20 failures within 15 minutes at the default settings). The key is the normalised email,
-- whether or not an account exists.
select l.email_normalized,
       l.client_key,
       l.failed_count,
       l.locked_until,
       u.id as user_id
from app.login_lockouts l
left join app.users u on u.email_normalized = l.email_normalized
where l.locked_until > now()
   or (l.client_key = '*' and l.failed_count >= 20 and l.window_started_at > now() - interval '15 minutes')
union all
select u.email_normalized,
       'device',
       d.failed_count,
       d.locked_until,
       u.id
from app.login_devices d
join app.users u on u.id = d.user_id
where d.locked_until > now()
order by locked_until desc nulls first;
