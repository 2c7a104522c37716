-- Predict, then simulate (issue 38): what the learner predicted before the run (p95 at peak, the
-- bottleneck, the maximum sustainable throughput), scored against the result when it is read.
-- Null when the request carried none; the table's grants cover the new column.
alter table app.simulation_runs add column predictions jsonb;
