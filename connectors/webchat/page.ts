import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const publicDir = join(dirname(fileURLToPath(import.meta.url)), 'public');

export interface WidgetAsset {
  body: string;
  contentType: string;
}

export interface WidgetPage {
  html: string;
  /** File name → asset, served under the channel prefix. */
  assets: Map<string, WidgetAsset>;
  headers: Record<string, string>;
}

export interface WidgetVariables {
  channelId: string;
  prefix: string;
  title?: string;
  /** Origins allowed to frame the widget (CSP frame-ancestors); none by default. */
  embedOrigins: string[];
}

const escapeHtml = (value: string): string =>
  value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');

/**
 * Same-origin scripts, styles and socket only: a reply that slipped past the widget's text-only
 * rendering still cannot run code or send data anywhere. Card images may come from any https host.
 */
function contentSecurityPolicy(embedOrigins: string[]): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' https: data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    `frame-ancestors ${embedOrigins.length ? embedOrigins.join(' ') : "'none'"}`,
  ].join('; ');
}

/** Read the widget once at start-up and fill in the channel's paths. */
export async function loadWidget(vars: WidgetVariables): Promise<WidgetPage> {
  const [template, js, css] = await Promise.all(
    ['index.html', 'widget.js', 'widget.css'].map((name) => readFile(join(publicDir, name), 'utf8')),
  );
  const values: Record<string, string> = {
    CHANNEL: vars.channelId,
    ASSET_BASE: vars.prefix,
    WS_PATH: `${vars.prefix}/ws`,
    TITLE: vars.title ?? '',
  };
  const html = (template ?? '').replace(/\{\{([A-Z_]+)\}\}/g, (_, key: string) =>
    escapeHtml(values[key] ?? ''),
  );
  return {
    html,
    assets: new Map([
      ['widget.js', { body: js ?? '', contentType: 'text/javascript; charset=utf-8' }],
      ['widget.css', { body: css ?? '', contentType: 'text/css; charset=utf-8' }],
    ]),
    headers: {
      'content-security-policy': contentSecurityPolicy(vars.embedOrigins),
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-cache',
    },
  };
}
