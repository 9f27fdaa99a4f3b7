/**
 * The part of whatsapp-web.js's `Client` the connector uses. Tests hand in an EventEmitter with
 * these methods; production builds the real one (which launches Chromium) lazily, because merely
 * importing the library loads puppeteer and takes seconds.
 */
export interface WebMessageMedia {
  mimetype: string;
  /** Base64. */
  data: string;
  filename?: string | null;
  filesize?: number | null;
}

export interface WebMessage {
  id: { _serialized: string; fromMe?: boolean };
  from: string;
  to?: string;
  author?: string;
  fromMe: boolean;
  body: string;
  type: string;
  timestamp?: number;
  hasMedia?: boolean;
  hasQuotedMsg?: boolean;
  isForwarded?: boolean;
  mentionedIds?: string[];
  vCards?: string[];
  location?: {
    latitude: number | string;
    longitude: number | string;
    name?: string;
    address?: string;
    description?: string;
  };
  _data?: {
    notifyName?: string;
    mimetype?: string;
    filename?: string;
    size?: number;
    quotedStanzaID?: string;
  };
  downloadMedia?: () => Promise<WebMessageMedia | undefined>;
  getQuotedMessage?: () => Promise<{ id: { _serialized: string } } | undefined>;
}

export interface WebClient {
  // biome-ignore lint/suspicious/noExplicitAny: event payloads differ per event, as in the library's own typing
  on(event: string, listener: (...args: any[]) => void): unknown;
  removeAllListeners(event?: string): unknown;
  initialize(): Promise<void>;
  destroy(): Promise<void>;
  sendMessage(
    chatId: string,
    content: string,
    options?: Record<string, unknown>,
  ): Promise<{ id: { _serialized: string } }>;
  getChatById(chatId: string): Promise<{ sendStateTyping(): Promise<void> }>;
  getMessageById(messageId: string): Promise<WebMessage | undefined>;
  info?: { wid?: { _serialized: string } };
}

export interface WebClientSettings {
  channel: string;
  sessionDir: string;
  executablePath: string;
  headless: boolean;
}

export type WebClientFactory = (settings: WebClientSettings) => Promise<WebClient>;

/** The real client: LocalAuth under `sessionDir/session-<channel>`, Chromium from `executablePath`. */
export const createRealWebClient: WebClientFactory = async (settings) => {
  const library = await import('whatsapp-web.js');
  const { Client, LocalAuth } = (library as unknown as { default?: typeof library }).default ?? library;
  const client = new Client({
    authStrategy: new LocalAuth({ clientId: settings.channel, dataPath: settings.sessionDir }),
    puppeteer: {
      executablePath: settings.executablePath,
      headless: settings.headless,
      // Chromium's sandbox needs user namespaces that containers often lack.
      args: ['--no-sandbox', '--disable-dev-shm-usage'],
    },
  });
  return client as unknown as WebClient;
};
