import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { operatorPageHeaders } from './page-headers';
import { errorResponse, type RouteDoc } from './route-doc';

/** The console's bundle, built by Vite (scripts/build-console.mjs) from console/. */
export const CONSOLE_DIST = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'console', 'dist');

const TAGS = ['console'];
const docs = {
  root: {
    summary: 'The operator console: redirects to /console/',
    tags: TAGS,
    responses: { 302: { description: 'To /console/' } },
  },
  asset: {
    summary: "The console's scripts and styles (content-hashed names, cached for a year)",
    tags: TAGS,
    responses: { 200: { description: 'The file' }, 404: errorResponse('not_found') },
  },
  page: {
    summary:
      "The operator console's page (every /console/<page> path; the page asks /admin/me who is signed in)",
    tags: TAGS,
    responses: {
      200: { description: 'The page', contentType: 'text/html' },
      503: errorResponse('console.not_built'),
    },
  },
} satisfies Record<string, RouteDoc>;

/**
 * The operator console under /console: static files only, anyone may load them (the pages hold no
 * data). Every figure the pages show comes from an /admin route that checks the caller's session and
 * permission. The page's CSP allows scripts, styles and requests to this origin only.
 */
export async function registerConsoleRoutes(app: FastifyInstance, dist = CONSOLE_DIST): Promise<void> {
  await app.register(async (scope) => {
    await scope.register(fastifyStatic, { root: dist, serve: false, cacheControl: false });
    const base = operatorPageHeaders({ formAction: 'none', cache: 'no-cache' });
    // uPlot draws on a canvas; the pages show no images from elsewhere.
    const pageHeaders = {
      ...base,
      'content-security-policy': `${base['content-security-policy']}; img-src 'self' data:`,
    };

    scope.get('/console', { config: { permission: 'public', openapi: docs.root } }, async (_request, reply) =>
      reply.redirect('/console/'),
    );
    scope.get<{ Params: { file: string } }>(
      '/console/assets/:file',
      { config: { permission: 'public', openapi: docs.asset } },
      async (request, reply) => {
        const name = request.params.file;
        if (!/^[\w.-]+$/.test(name) || !existsSync(join(dist, 'assets', name))) {
          return reply.code(404).send({ error: { code: 'not_found', message: 'No such console file.' } });
        }
        return reply
          .header('cache-control', 'public, max-age=31536000, immutable')
          .header('x-content-type-options', 'nosniff')
          .sendFile(join('assets', name));
      },
    );
    // One segment per page (`/console/overview`); a page keeps what it shows in the query string.
    const page = async (_request: FastifyRequest, reply: FastifyReply) => {
      if (!existsSync(join(dist, 'index.html'))) {
        return reply.code(503).send({
          error: {
            code: 'console.not_built',
            message: 'The console is not built: run `npm run build:console` (npm ci does it).',
          },
        });
      }
      return reply.headers(pageHeaders).sendFile('index.html');
    };
    scope.get('/console/', { config: { permission: 'public', openapi: docs.page } }, page);
    scope.get('/console/:page', { config: { permission: 'public', openapi: docs.page } }, page);
  });
}
