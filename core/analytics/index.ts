export { type TurnFact, turnFact } from './facts';
export {
  businessFigures,
  DIMENSIONS,
  type Dimension,
  emptyFigures,
  type Figures,
  type FiguresQuery,
} from './figures';
export { refreshBusinessGauges, setBusinessGauges, startBusinessGauges } from './gauges';
export {
  OVERVIEW_WINDOWS,
  type Overview,
  type OverviewQuery,
  type OverviewWindow,
  overviewFigures,
  type SystemFigures,
} from './overview';
export { ANALYTICS_KEY_ENV, AnalyticsStore, loadAnalyticsKey, utcDay } from './store';
export { SystemMinutes, startSystemMinutes } from './system-minutes';
export { countRecordedFact, createFactsWriter } from './writer';
