-- A load balancer now splits its requests (each takes exactly one outgoing link, by share), and a
-- split's shares must add up to 1 for each class its links carry. Designs saved before, whose load
-- balancer's shares do not, keep the old meaning (each link called on its own): they get
-- "routing": "calls" on those components, so nothing a user saved, and no run still queued,
-- starts failing validation. Designs whose shares add up to 1 keep no marker and now split.

create function app.with_calls_routing(design jsonb) returns jsonb
language sql immutable as $$
  select case
    when design -> 'components' is null or jsonb_typeof(design -> 'components') <> 'array' then design
    else jsonb_set(design, '{components}', (
      select coalesce(jsonb_agg(
        case
          when c ->> 'type' = 'load_balancer' and not (c ? 'routing') and exists (
            select 1
            from (values ('read'), ('write')) as cls(name)
            cross join lateral (
              select count(*) as n, coalesce(sum(coalesce((l ->> 'share')::float8, 1)), 0) as total
              from jsonb_array_elements(coalesce(design -> 'links', '[]'::jsonb)) l
              where l ->> 'from' = c ->> 'id'
                and coalesce(l ->> 'traffic', 'both') in ('both', cls.name)
            ) s
            where s.n > 0 and abs(s.total - 1) > 1e-9
          ) then c || '{"routing": "calls"}'::jsonb
          else c
        end
        order by ordinality), '[]'::jsonb)
      from jsonb_array_elements(design -> 'components') with ordinality as e(c, ordinality)
    ))
  end
$$;

update app.workspaces set design = app.with_calls_routing(design)
where design @> '{"components": [{"type": "load_balancer"}]}' and design <> app.with_calls_routing(design);

update app.simulation_runs set design = app.with_calls_routing(design)
where status in ('queued', 'running')
  and design @> '{"components": [{"type": "load_balancer"}]}' and design <> app.with_calls_routing(design);

drop function app.with_calls_routing(jsonb);
