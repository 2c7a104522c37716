// A run with its result and analysis, and its grade: the domain's shapes (src/domain/schemas.ts),
// under the names the routes have always given them.
export {
  GradeReportSchema as Grade,
  PreviewSchema as Preview,
  RunSchema as Simulation,
  RunSummarySchema as SimulationSummary
} from '../../domain/schemas.ts'
