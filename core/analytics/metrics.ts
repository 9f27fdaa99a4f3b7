import { Counter, Gauge, Histogram } from 'prom-client';
import { registry } from '../metrics';

/**
 * The business series on /metrics. Counters move at event time, as each turn's facts are written;
 * the gauges are refreshed every `analytics.gaugeRefreshSeconds` from the figures of the last
 * `analytics.gaugeWindowDays` (core/analytics/gauges.ts), never by a scrape.
 */

export const conversationsStarted = new Counter({
  name: 'hub_conversations_started_total',
  help: 'Conversations started (README "Business metrics"), by tenant and channel',
  labelNames: ['tenant', 'channel'] as const,
  registers: [registry],
});

export const conversationHandoffs = new Counter({
  name: 'hub_conversation_handoffs_total',
  help: 'Turns that gave the conversation to a person, by tenant and channel',
  labelNames: ['tenant', 'channel'] as const,
  registers: [registry],
});

export const unansweredTurns = new Counter({
  name: 'hub_unanswered_turns_total',
  help: 'Customer turns answered "I don\'t know" (the knowledge base had nothing), by tenant and channel',
  labelNames: ['tenant', 'channel'] as const,
  registers: [registry],
});

export const csatRatings = new Counter({
  name: 'hub_csat_ratings_total',
  help: 'Satisfaction survey ratings, by tenant and score (1-5; thumbs up is 5, down is 1)',
  labelNames: ['tenant', 'score'] as const,
  registers: [registry],
});

export const answerFeedback = new Counter({
  name: 'hub_answer_feedback_total',
  help: 'Answers to "did that help?", by tenant and feedback (helpful, unhelpful)',
  labelNames: ['tenant', 'feedback'] as const,
  registers: [registry],
});

export const intentConfidence = new Histogram({
  name: 'hub_intent_confidence',
  help: 'Confidence of the recognized intent of customer turns, by tenant',
  labelNames: ['tenant'] as const,
  buckets: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1],
  registers: [registry],
});

export const containmentRatio = new Gauge({
  name: 'hub_containment_ratio',
  help: 'Contained (bot-resolved) conversations / ended conversations over the gauge window, by tenant',
  labelNames: ['tenant'] as const,
  registers: [registry],
});

export const csatAverage = new Gauge({
  name: 'hub_csat_average',
  help: 'Average satisfaction rating (1-5) over the gauge window, by tenant',
  labelNames: ['tenant'] as const,
  registers: [registry],
});

export const conversationsByOutcome = new Gauge({
  name: 'hub_conversations',
  help: 'Conversations started in the gauge window, by tenant and outcome (open, contained, handed_off, abandoned, ended_unanswered)',
  labelNames: ['tenant', 'outcome'] as const,
  registers: [registry],
});

export const firstResponseSeconds = new Gauge({
  name: 'hub_first_response_seconds',
  help: 'First-response time over the gauge window, by tenant and quantile (0.5, 0.9)',
  labelNames: ['tenant', 'quantile'] as const,
  registers: [registry],
});

export const dontKnowRatio = new Gauge({
  name: 'hub_dont_know_ratio',
  help: 'Turns answered "I don\'t know" / turns that asked the knowledge base, over the gauge window, by tenant',
  labelNames: ['tenant'] as const,
  registers: [registry],
});
