// The model's version, recorded in every run's result: a result stored by an older model still
// reads (its figures are what that model computed) and is marked as from an older model.

/** 3: a saturated station's latency is unbounded (null), not a 5 s charge; ceilings from offered load. */
export const MODEL_VERSION = 3

/** Whether a stored result was computed by an older model (results before 3 record none). */
export const fromOlderModel = (result: { modelVersion?: number }): boolean => (result.modelVersion ?? 0) < MODEL_VERSION
