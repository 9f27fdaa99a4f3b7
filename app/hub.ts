import type { FastifyInstance } from 'fastify';
import { channelRegistry } from '../connectors/registry';
import { validateChannelOptions, validateChannels } from '../connectors/validate';
import { AnalyticsStore, loadAnalyticsKey, startBusinessGauges, startSystemMinutes } from '../core/analytics';
import { createBus, createFeed } from '../core/bus';
import { reportBusBacklog, reportWorkersAlive } from '../core/bus/backlog-gauge';
import { createWorkerHeartbeats, startHeartbeat, type WorkerHeartbeats } from '../core/bus/heartbeats';
import { Admission } from '../core/channels/admission';
import { channelIngress, countedPublish } from '../core/channels/ingress';
import { RejectedWebhookStore } from '../core/channels/rejected-webhooks';
import { retentionConfigured } from '../core/config/retention-schema';
import type { HubConfig } from '../core/config/schema';
import { DialogEngine } from '../core/dialog/engine';
import { loadDialogKit, reloadIntents } from '../core/dialog/setup';
import { createTurnHandler, type TurnDeps } from '../core/dialog/turn';
import { createTurnWriter } from '../core/dialog/turn-write';
import { registerHelpdeskWebhooks } from '../core/handoff';
import { registerAnalyticsRoute } from '../core/http/analytics-route';
import { registerCustomerEraseRoute } from '../core/http/customer-erase-route';
import { registerRejectedWebhooksRoute } from '../core/http/rejected-webhooks-route';
import { buildServer, type ReadinessCheck } from '../core/http/server';
import { KnowledgeDraftStore } from '../core/knowledge-gaps';
import {
  budgetedLlm,
  type CanaryControl,
  createCanaryControl,
  createCanaryStore,
  createLlmClient,
} from '../core/llm';
import { registerModelAdminRoutes } from '../core/llm/admin-route';
import { releaseTokenizer } from '../core/llm/tokenizer';
import { logger } from '../core/log';
import { createOutbound } from '../core/outbound';
import { createKnowledge } from '../core/rag';
import { type AccessLimits, createAccessLimits } from '../core/security/access-limits';
import { registerApiKeyAdminRoutes } from '../core/security/api-keys-routes';
import { createChannelAccess } from '../core/security/channel-access';
import { auditOperatorEvents } from '../core/security/events';
import { serverTlsOptions } from '../core/security/tls';
import { createStateStore } from '../core/state';
import { createStore, type KyselyStore } from '../core/store';
import { AuditSealer } from '../core/store/audit-sealer';
import { RetentionScheduler } from '../core/store/data-protection';
import type { EventBus, HubStore, OutboundFeed, OutboundMessage, Retriever, StateStore } from '../core/types';
import { startBackOffice } from './back-office';
import { createChannelStorage, createConnectors } from './channels';
import { registerConsole } from './console';
import { builtinPlugins, validatePlugins } from './plugins';
import { createSecurity } from './security';
import { StartPhases } from './start-phases';

export interface RunningHub {
  /** Base URL of the HTTP server; undefined for a worker-only process. */
  url?: string;
  webchatUrl?: string;
  app?: FastifyInstance;
  bus: EventBus;
  store: HubStore;
  stop(): Promise<void>;
}

/** Start everything the config asks for; `stop()` drains in-flight turns before closing connections. */
export async function startHub(config: HubConfig, phases = new StartPhases()): Promise<RunningHub> {
  validateChannels(config);
  // Every broken channel block named at once, before any connector starts.
  validateChannelOptions(config);
  validatePlugins(config);
  // Read before any connection opens: a certificate that cannot be read stops the hub here.
  const https = serverTlsOptions(config.server.tls);
  const { role } = config.server;
  const closers: Array<() => Promise<void>> = [];
  phases.begin(
    'database',
    config.database.driver === 'postgres'
      ? 'connecting to PostgreSQL, applying migrations'
      : `opening the embedded database (${config.database.dataDir}), applying migrations`,
  );
  const store = await createStore(config);
  closers.push(() => store.close());
  const redisKeys = { keyPrefix: config.redis.keyPrefix };
  phases.begin('bus', `opening the bus (${config.bus.driver}), outbound and rate limits`);
  const bus = await createBus(config, redisKeys);
  closers.push(reportBusBacklog(bus));
  const heartbeats = await createWorkerHeartbeats(config, redisKeys);
  closers.push(() => heartbeats.close());
  closers.push(reportWorkersAlive(heartbeats));
  const feed: OutboundFeed = await createFeed(config, redisKeys);

  const outbound = await createOutbound(config, logger.child({ component: 'outbound' }));
  closers.push(() => outbound.close());

  const access = await createChannelAccess(store.db);
  const channelStorage = await createChannelStorage(config);
  closers.push(() => channelStorage.close());
  const limits = await createAccessLimits(config);
  closers.push(() => limits.close());
  // The one ingress call, for connectors and helpdesk webhooks alike.
  const accept = channelIngress(countedPublish(bus));
  // Signed requests acknowledged without an event, kept for operators (GET /admin/webhooks/rejected).
  const rejected = new RejectedWebhookStore(store.db);
  // Business metrics (core/analytics): facts written by the workers, figures for operators and /metrics.
  const analytics = new AnalyticsStore(
    store.db,
    config.analytics.abandonAfterMinutes,
    await loadAnalyticsKey(store.db),
  );
  if (config.analytics.enabled) {
    closers.push(
      startBusinessGauges(analytics, {
        refreshSeconds: config.analytics.gaugeRefreshSeconds,
        windowDays: config.analytics.gaugeWindowDays,
        abandonAfterMinutes: config.analytics.abandonAfterMinutes,
      }),
    );
    // Every process adds its failed turns and errors to the minutes the console reads.
    closers.push(startSystemMinutes(analytics));
  }
  // Entries published from the console's knowledge gaps page: a knowledge source of the workers, written by the api.
  const knowledgeDrafts = new KnowledgeDraftStore(store.db);
  // Past a tenant's backlog limits: REST refused with 503, chat channels told they wait (bus.admission).
  const admission = new Admission({
    bus,
    config: config.bus.admission,
    storage: channelStorage.storage.namespace('admission'),
    notify: async (message) => {
      await feed.publish(message);
      await deliver(message);
    },
    logger: logger.child({ component: 'admission' }),
  });
  closers.push(async () => admission.close());
  phases.begin('channels', `creating the channels (${config.channels.map((c) => c.id).join(', ')})`);
  // Built in every role: a worker-only process delivers replies through the connectors' send side.
  const connectors = await createConnectors(
    config,
    channelRegistry,
    {
      accept,
      storage: channelStorage.storage,
      feed,
      store,
      outbound: outbound.scheduler,
      access,
      limits,
      rejected,
    },
    admission,
  );
  const byId = new Map(connectors.map((connector) => [connector.id, connector]));
  async function deliver(message: OutboundMessage): Promise<void> {
    await byId.get(message.ref.channel)?.deliver?.(message);
  }
  const openDraft: TurnDeps['openDraft'] = (ref, replyId, locale) =>
    byId.get(ref.channel)?.openDraft?.(ref, replyId, locale);

  // One canary state per process, shared by its router and the admin route (in Redis across processes).
  const canaryStore = await createCanaryStore(config);
  closers.push(() => canaryStore.close());
  const canary = createCanaryControl(config.llm, canaryStore);
  // One dialog state store per process: the workers' turns and an erasure (admin route) see the same one.
  const states = await createStateStore(config, { ...redisKeys, atRest: store.atRest });
  closers.push(() => states.close());

  let workers: { close(): Promise<void>; retriever: Retriever; reloadIntents(): Promise<number> } | undefined;
  if (role !== 'api') {
    workers = await startWorkers(
      config,
      { bus, feed, store, heartbeats, limits, analytics, states, knowledgeDrafts },
      deliver,
      openDraft,
      canary,
      phases,
    );
    // The retention purge: one process of the deployment at a time (a lease in the database).
    if (config.retention.schedule && retentionConfigured(config.retention)) {
      const retention = new RetentionScheduler(store, config.retention, {
        intervalMs: config.retention.purgeIntervalMinutes * 60_000,
      });
      retention.start();
      closers.push(() => retention.stop());
    }
  }

  let app: FastifyInstance | undefined;
  if (role !== 'worker') {
    const readiness: ReadinessCheck[] = [
      { name: 'database', check: () => store.ping() },
      { name: 'bus', check: () => bus.ping() },
    ];
    const channelHealth: ReadinessCheck[] = connectors.flatMap((c) =>
      c.health ? [{ name: `channel:${c.id}`, check: async () => c.health?.() }] : [],
    );
    phases.begin('listening', `starting the HTTP server on ${config.server.host}:${config.server.port}`);
    app = await buildServer({
      config,
      connectors,
      readiness,
      channelHealth,
      https,
      limits,
      audit: store,
      security: createSecurity(config, store, auditOperatorEvents(store)),
    });
    registerModelAdminRoutes(app, canary);
    registerApiKeyAdminRoutes(app, access.apiKeys, store);
    registerRejectedWebhooksRoute(app, rejected);
    registerAnalyticsRoute(app, analytics, { abandonAfterMinutes: config.analytics.abandonAfterMinutes });
    registerCustomerEraseRoute(app, store, states);
    const { knowledge } = await registerConsole(app, {
      config,
      store,
      analytics,
      knowledgeDrafts,
      ...(workers ? { workers } : {}),
    });
    closers.push(() => knowledge.close());
    await registerHelpdeskWebhooks(
      app,
      {
        config,
        store,
        accept,
        logger: logger.child({ component: 'handoff' }),
        knowledge: () => knowledge.retriever(),
      },
      builtinPlugins.helpdesks.descriptors,
    );
    await app.listen({ host: config.server.host, port: config.server.port });
  }

  const address = app?.server.address();
  const url =
    address && typeof address === 'object'
      ? `${https ? 'https' : 'http'}://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`
      : undefined;
  const webchat = connectors.find((c) => c.type === 'webchat');
  const webchatUrl =
    url && webchat ? `${url}${webchat.id === 'webchat' ? '/chat' : `/webchat/${webchat.id}/`}` : undefined;
  phases.finish({
    url,
    role,
    bus: config.bus.driver,
    database: config.database.driver,
    llm: config.llm.enabled,
  });

  return {
    url,
    webchatUrl,
    app,
    bus,
    store,
    async stop() {
      // Order matters: stop accepting, let in-flight turns finish, then close what they write to.
      await app?.close();
      for (const connector of connectors) await connector.close?.();
      await bus.close();
      await workers?.close();
      await feed.close();
      for (const close of closers.reverse()) await close();
    },
  };
}

async function startWorkers(
  config: HubConfig,
  {
    bus,
    feed,
    store,
    heartbeats,
    limits,
    analytics,
    states,
    knowledgeDrafts,
  }: {
    bus: EventBus;
    feed: OutboundFeed;
    store: KyselyStore;
    heartbeats: WorkerHeartbeats;
    limits: AccessLimits;
    analytics: AnalyticsStore;
    states: StateStore;
    knowledgeDrafts: KnowledgeDraftStore;
  },
  deliver: (message: OutboundMessage) => Promise<void>,
  openDraft: TurnDeps['openDraft'],
  canary: CanaryControl,
  phases: StartPhases,
) {
  phases.begin(
    'knowledge',
    `building the knowledge index (${config.knowledge.retriever}, ${config.knowledge.dir})`,
  );
  const knowledge = await createKnowledge(config, {
    retrievers: builtinPlugins.retrievers,
    sources: [knowledgeDrafts.source()],
  });
  // Chunking may have loaded the Qwen3 vocabulary; without the LLM nothing counts tokens until the next reload.
  if (!config.llm.enabled) releaseTokenizer();
  // Every model call of the dialog (intent, rewrite, answer) under the budgets of security.rateLimits.llm.
  const llm = config.llm.enabled
    ? budgetedLlm(createLlmClient(config.llm, { canary, privacy: config.privacy.pii }), limits)
    : undefined;
  phases.begin(
    'back office',
    `connecting the back office (erp ${config.erp.driver}, ticketing ${config.ticketing.driver})`,
  );
  const backOffice = await startBackOffice(config, store, builtinPlugins, llm);
  phases.begin('intents', `loading the dialog (${config.dialog.file}): intents, flows, safety`);
  const dialog = await loadDialogKit(config, { llm, commands: backOffice.commands });
  const engine = new DialogEngine({
    config,
    retriever: knowledge.retriever,
    llm,
    dialog,
    commands: backOffice.commands,
  });
  // A turn's transcript, audit record and facts in one statement; the audit records wait, pending,
  // for the sealer (below), which chains them off the turn's path.
  const write = createTurnWriter(store, {
    audit: config.audit.turns,
    ...(config.analytics.enabled ? { analytics } : {}),
  });
  const sealer = new AuditSealer(store.auditLog);
  sealer.start();
  phases.begin('workers', 'starting the dialog workers');
  // The bus reads each turn's state with its event and commits the new state and the replies' feed
  // messages with the event's settlement (one Redis script on the BullMQ bus).
  await bus.consume(createTurnHandler({ engine, states, store, feed, deliver, openDraft, write }), {
    commit: { states, feed },
  });
  const heartbeat = await startHeartbeat(heartbeats, config.bus.heartbeatMs);
  logger.info({ chunks: knowledge.chunks.length, worker: heartbeat.id }, 'dialog workers consuming');
  return {
    reloadIntents: () => reloadIntents(dialog, config, llm),
    retriever: knowledge.retriever,
    close: async () => {
      await heartbeat.stop();
      await sealer.stop();
      await backOffice.close();
      await knowledge.close();
    },
  };
}
