import type { FastifyInstance } from 'fastify';
import type { AnalyticsStore } from '../core/analytics';
import type { HubConfig } from '../core/config/schema';
import { registerConversationRoutes } from '../core/console/conversations-routes';
import { registerOverviewRoute } from '../core/console/overview-route';
import { knowledgePassages } from '../core/console/passages';
import { loadIntentConfig } from '../core/dialog/setup';
import { registerConsoleRoutes } from '../core/http/console-route';
import { registerIntentRoutes } from '../core/intents/routes';
import { IntentReviewStore } from '../core/intents/store';
import { type KnowledgeDraftStore, KnowledgeGaps, registerKnowledgeGapRoutes } from '../core/knowledge-gaps';
import { PiiMasker } from '../core/privacy/mask';
import { createEmbedder, createKnowledge, type Knowledge } from '../core/rag';
import type { KyselyStore } from '../core/store';
import type { Retriever } from '../core/types';
import { builtinPlugins } from './plugins';

export interface ConsoleDeps {
  config: HubConfig;
  store: KyselyStore;
  analytics: AnalyticsStore;
  /** Entries published from the knowledge gaps page: a knowledge source of the workers. */
  knowledgeDrafts: KnowledgeDraftStore;
  /** This process's dialog workers, when it runs them (not `--role api`). */
  workers?: { retriever: Retriever; reloadIntents(): Promise<number> };
}

/** The knowledge index the api side reads (the workspace's suggested replies). */
export interface ConsoleKnowledge {
  retriever(): Promise<Retriever>;
  close(): Promise<void>;
}

/**
 * The operator console: its static pages (/console) and the JSON routes behind each page —
 * overview, conversations, knowledge gaps, intents. Returns the knowledge the agent workspace's
 * suggestions read, for the helpdesk routes.
 */
export async function registerConsole(
  app: FastifyInstance,
  { config, store, analytics, knowledgeDrafts, workers }: ConsoleDeps,
): Promise<{ knowledge: ConsoleKnowledge }> {
  const { abandonAfterMinutes } = config.analytics;
  const masker = new PiiMasker(config.privacy.pii);
  await registerConsoleRoutes(app);
  registerOverviewRoute(app, analytics, {
    abandonAfterMinutes,
    channels: config.channels.filter((channel) => channel.enabled),
  });
  registerConversationRoutes(app, store.db, {
    abandonAfterMinutes,
    passages: knowledgePassages(config),
    audit: store,
  });
  registerIntentRoutes(app, new IntentReviewStore(store.db), {
    loadIntents: () => loadIntentConfig(config),
    examplesFile: config.dialog.examplesFile,
    dataset: `config: ${config.dialog.file} + ${config.dialog.examplesFile}`,
    // Workers in this process retrain at once; in another process, at their next start.
    ...(workers ? { reloadIntents: workers.reloadIntents } : {}),
    audit: store,
  });
  registerKnowledgeGapRoutes(app, {
    gaps: new KnowledgeGaps(store.db, analytics, createEmbedder(config.knowledge), masker),
    drafts: knowledgeDrafts,
    masker,
    audit: store,
  });
  return { knowledge: consoleKnowledge(config, knowledgeDrafts, workers?.retriever) };
}

/**
 * The workers' index where this process runs them, else one built the first time an agent asks
 * (an api-only process), with the published drafts; a failed build is tried again next time.
 */
function consoleKnowledge(
  config: HubConfig,
  knowledgeDrafts: KnowledgeDraftStore,
  workersRetriever: Retriever | undefined,
): ConsoleKnowledge {
  let own: Promise<Knowledge> | undefined;
  return {
    async retriever() {
      if (workersRetriever) return workersRetriever;
      own ??= createKnowledge(config, {
        retrievers: builtinPlugins.retrievers,
        sources: [knowledgeDrafts.source()],
      }).catch((error) => {
        own = undefined;
        throw error;
      });
      return (await own).retriever;
    },
    async close() {
      if (own) await (await own.catch(() => undefined))?.close();
    },
  };
}
