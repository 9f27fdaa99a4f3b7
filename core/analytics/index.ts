export { conversationHash, type TurnFact, turnFact } from './facts';
export { businessFigures, DIMENSIONS, type Dimension, type Figures, type FiguresQuery } from './figures';
export { refreshBusinessGauges, setBusinessGauges, startBusinessGauges } from './gauges';
export { AnalyticsStore, utcDay } from './store';
export { createFactsWriter } from './writer';
