export { type TurnFact, turnFact } from './facts';
export { businessFigures, DIMENSIONS, type Dimension, type Figures, type FiguresQuery } from './figures';
export { refreshBusinessGauges, setBusinessGauges, startBusinessGauges } from './gauges';
export { ANALYTICS_KEY_ENV, AnalyticsStore, loadAnalyticsKey, utcDay } from './store';
export { createFactsWriter } from './writer';
