-- A traffic profile may set the availability the grade holds the design to (null: three nines),
-- and each grade records the rubric version that scored it (null: graded before versions were kept).
alter table app.traffic_profiles
  add column availability_target double precision
    check (availability_target is null or (availability_target >= 0.9 and availability_target <= 0.999999));

alter table app.grade_reports add column rubric_version integer;
