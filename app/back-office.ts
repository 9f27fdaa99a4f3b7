import { createErp } from '../adapters/erp';
import { createTicketing } from '../adapters/ticketing';
import type { HubConfig } from '../core/config/schema';
import { DialogCommands } from '../core/dialog/commands';
import { logger } from '../core/log';
import { OrderAccess } from '../core/orders/access';
import { OneTimeCodes } from '../core/orders/one-time-code';
import { createVerificationLimiter } from '../core/orders/verification-limit';
import { PiiMasker } from '../core/privacy/mask';
import type { KyselyStore } from '../core/store';
import {
  CaseSummarizer,
  crashHookFromEnv,
  TicketCommentOutbox,
  TicketDeliveryWorker,
  TicketOutbox,
  TicketService,
} from '../core/tickets';
import { ticketDb } from '../core/tickets/schema';
import type { ErpAdapter, LlmClient, TicketingAdapter } from '../core/types';
import { builtinPlugins, type Plugins } from './plugins';

export interface BackOffice {
  erp: ErpAdapter;
  ticketing: TicketingAdapter;
  outbox: TicketOutbox;
  comments: TicketCommentOutbox;
  tickets: TicketService;
  worker: TicketDeliveryWorker;
  commands: DialogCommands;
  close(): Promise<void>;
}

/**
 * The ERP and helpdesk side of a worker process: adapters from config (by their registries), the
 * ticket outbox and its delivery worker, and the dialog commands that use them.
 */
export async function startBackOffice(
  config: HubConfig,
  store: KyselyStore,
  plugins: Pick<Plugins, 'erps' | 'helpdesks'> = builtinPlugins,
  /** The dialog's model client (masked, budgeted): it writes the tickets' case summaries. */
  llm?: LlmClient,
): Promise<BackOffice> {
  const erp = await createErp(config.erp, plugins.erps);
  const ticketing = createTicketing(config.ticketing, { db: ticketDb(store.db) }, plugins.helpdesks);
  const outbox = new TicketOutbox(store.db);
  const comments = new TicketCommentOutbox(store.db);
  const crashHook = crashHookFromEnv();
  const worker = new TicketDeliveryWorker({
    outbox,
    comments,
    adapters: { [ticketing.name]: ticketing },
    config: config.ticketing,
    crashHook,
  });
  const tickets = new TicketService({
    outbox,
    comments,
    adapter: ticketing.name,
    worker,
    crashHook,
    pii: config.ticketing.pii,
    masker: new PiiMasker(config.privacy.pii),
  });
  const verificationLimit = await createVerificationLimiter(config);
  const { phone, otp, email } = config.proof;
  // nodemailer (about 5 MB of heap) is loaded only where codes go out by e-mail.
  const mailer = email
    ? (await import('../core/orders/email-code-sender')).emailCodeSender(email)
    : undefined;
  if (mailer && !otp.secret && config.bus.driver === 'bullmq') {
    logger.warn(
      'proof.otp.secret is unset: a code sent by one worker is refused by another; set it from env',
    );
  }
  const commands = new DialogCommands({
    orders: new OrderAccess(
      erp,
      config.erp.timeoutMs,
      config.erp.breaker,
      (tenant) => phone.regionByTenant[tenant] ?? phone.defaultRegion,
      config.erp.maxConcurrency,
    ),
    codes:
      mailer && otp.mode !== 'off'
        ? {
            codes: new OneTimeCodes(mailer.send, {
              ttlMs: otp.ttlMs,
              attempts: otp.attempts,
              secret: otp.secret ? Buffer.from(otp.secret) : undefined,
            }),
            mode: otp.mode,
            resendAfterMs: otp.resendAfterMs,
            deliverable: (kind) => kind === 'email',
          }
        : undefined,
    tickets,
    store,
    maxVerificationAttempts: config.erp.maxVerificationAttempts,
    verificationLimit,
    ticketOnErpFailure: config.erp.ticketOnFailure,
    summarizer: new CaseSummarizer({ llm }),
  });
  worker.start();
  logger.info({ erp: erp.name, ticketing: ticketing.name }, 'back office ready');
  return {
    erp,
    ticketing,
    outbox,
    comments,
    tickets,
    worker,
    commands,
    async close() {
      await worker.stop();
      await verificationLimit.close?.();
      mailer?.close();
      await ticketing.close?.();
      await erp.close?.();
    },
  };
}
