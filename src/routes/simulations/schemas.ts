// A run with its result and analysis, and its grade: the domain's shapes (src/domain/resources.ts),
// under the routes' names for them.
export {
  GradeReportSchema as Grade,
  RunSchema as Simulation,
  RunSummarySchema as SimulationSummary
} from '../../domain/resources.ts'
export { PreviewSchema as Preview } from '../../domain/schemas.ts'
