import type { FastifyInstance, RouteOptions } from 'fastify';
import { z } from 'zod';
import { logger } from '../log';
import { hubVersion } from '../version';
import {
  type BodyDoc,
  errorBodySchema,
  errorResponse,
  RATE_LIMITED_RESPONSE,
  type ResponseDoc,
  type RouteDoc,
} from './route-doc';

type JsonObject = Record<string, unknown>;

interface CatalogedRoute {
  method: string;
  url: string;
  doc?: RouteDoc;
}

const ERROR_REF = { $ref: '#/components/schemas/Error' };
const ADMIN_RESPONSES: Record<number, ResponseDoc> = {
  401: errorResponse('admin.unauthorized: HUB_ADMIN_TOKEN is set and the bearer token is missing or wrong'),
  403: errorResponse('admin.loopback_only: HUB_ADMIN_TOKEN is unset and the client is not on this machine'),
  429: {
    ...RATE_LIMITED_RESPONSE,
    description:
      'rate_limited: too many failed authentications from this address (security.rateLimits.authFailures); the wait doubles with each further attempt',
  },
};

/**
 * Every route the server registers, seen by an `onRoute` hook added before any route: the OpenAPI
 * document is built from them, so a route cannot be served and left out. One without a
 * `config.openapi` is listed as undocumented (and the API test fails on it).
 */
export class RouteCatalog {
  private readonly routes: CatalogedRoute[] = [];
  private document?: JsonObject;

  constructor(app: FastifyInstance) {
    app.addHook('onRoute', (route: RouteOptions) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      for (const method of methods) this.routes.push({ method, url: route.url, doc: route.config?.openapi });
    });
  }

  /** Routes without a description; HEAD routes Fastify adds beside a GET count as that GET. */
  undocumented(): string[] {
    return this.served()
      .filter((route) => !route.doc)
      .map((route) => `${route.method} ${route.url}`);
  }

  /** The OpenAPI 3.1 document; built once, on first use after the server is ready. */
  openApi(): JsonObject {
    if (!this.document) {
      const missing = this.undocumented();
      if (missing.length) logger.warn({ routes: missing }, 'routes without an API description');
      this.document = buildDocument(this.served());
    }
    return this.document;
  }

  private served(): CatalogedRoute[] {
    const gets = new Set(this.routes.filter((r) => r.method === 'GET').map((r) => r.url));
    return this.routes.filter((route) => !(route.method === 'HEAD' && gets.has(route.url)));
  }
}

/** `GET /openapi.json`: the description of every route this server serves. */
export function registerOpenApiRoute(app: FastifyInstance, catalog: RouteCatalog): void {
  app.get(
    '/openapi.json',
    {
      config: {
        openapi: {
          summary: 'This document: the OpenAPI 3.1 description of every route the hub serves',
          tags: ['api'],
          responses: {
            200: { description: 'OpenAPI 3.1 document', schema: z.looseObject({ openapi: z.string() }) },
          },
        },
      },
    },
    async () => catalog.openApi(),
  );
}

function buildDocument(routes: CatalogedRoute[]): JsonObject {
  const paths: Record<string, Record<string, JsonObject>> = {};
  for (const route of routes) {
    const path = openApiPath(route.url);
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = operation(route, path);
  }
  const tags = [...new Set(routes.flatMap((route) => route.doc?.tags ?? []))].sort();
  return {
    openapi: '3.1.0',
    info: {
      title: 'Omnichannel customer-service hub',
      version: hubVersion,
      description:
        'Every HTTP route of this hub: channel webhooks, the REST channel, health and metrics, helpdesk updates and admin routes. Errors share one shape (components.schemas.Error).',
    },
    jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
    tags: tags.map((name) => ({ name })),
    paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))),
    components: {
      schemas: { Error: jsonSchema(errorBodySchema, 'output') },
      securitySchemes: {
        adminToken: {
          type: 'http',
          scheme: 'bearer',
          description:
            'HUB_ADMIN_TOKEN. When it is unset, admin routes answer only loopback clients that address the hub as localhost.',
        },
      },
    },
  };
}

/** `/webhooks/:id/replies/:eventId` → `/webhooks/{id}/replies/{eventId}`. */
export function openApiPath(url: string): string {
  return url.replace(/:(\w+)/g, '{$1}').replace(/\*$/, '{wildcard}');
}

function operation(route: CatalogedRoute, path: string): JsonObject {
  const doc = route.doc;
  // `/chat` and `/chat/` are two routes: every non-word character counts.
  const operationId = `${route.method.toLowerCase()}${path.replace(/[^\w]/g, '_')}`;
  if (!doc) {
    return {
      operationId,
      summary: 'Undocumented route',
      'x-hub-undocumented': true,
      responses: { default: { description: 'Not described' } },
    };
  }
  const responses: Record<number, ResponseDoc> = { ...doc.responses };
  if (doc.admin) Object.assign(responses, ADMIN_RESPONSES);
  if (doc.admin && doc.body)
    responses[415] = errorResponse('admin.json_only: writes must be application/json');
  responses[500] ??= errorResponse(
    'internal: an unexpected failure; the message says nothing about internals',
  );
  return {
    operationId,
    summary: doc.summary,
    ...(doc.description ? { description: doc.description } : {}),
    tags: doc.tags,
    ...(doc.websocket ? { 'x-hub-websocket': true } : {}),
    parameters: parameters(doc, path),
    ...(doc.body ? { requestBody: requestBody(doc.body) } : {}),
    responses: Object.fromEntries(Object.entries(responses).map(([status, r]) => [status, response(r)])),
    ...(doc.admin ? { security: [{ adminToken: [] }] } : {}),
  };
}

function parameters(doc: RouteDoc, path: string): JsonObject[] {
  const declared = doc.params ? propertiesOf(doc.params) : {};
  const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((match) => match[1] as string);
  const query = doc.query ? jsonSchema(doc.query, 'input') : {};
  const requiredQuery = new Set((query.required as string[] | undefined) ?? []);
  return [
    ...inPath.map((name) => ({
      name,
      in: 'path',
      required: true,
      schema: declared[name] ?? { type: 'string' },
    })),
    ...Object.entries((query.properties ?? {}) as Record<string, JsonObject>).map(([name, schema]) => ({
      name,
      in: 'query',
      required: requiredQuery.has(name),
      schema,
    })),
    ...(doc.headers ?? []).map((header) => ({
      name: header.name,
      in: 'header',
      required: header.required ?? false,
      description: header.description,
      schema: { type: 'string' },
    })),
  ];
}

function requestBody(body: BodyDoc): JsonObject {
  // A platform's payload is described in words: its shape is the platform's to change.
  const schema = body.schema ? jsonSchema(body.schema, 'input') : {};
  return {
    ...(body.description ? { description: body.description } : {}),
    required: body.required ?? true,
    content: Object.fromEntries(body.contentTypes.map((type) => [type, { schema }])),
  };
}

function response(doc: ResponseDoc): JsonObject {
  const schema = doc.schema === errorBodySchema ? ERROR_REF : doc.schema && jsonSchema(doc.schema, 'output');
  return {
    description: doc.description,
    ...(doc.headers
      ? {
          headers: Object.fromEntries(
            doc.headers.map((h) => [h.name, { description: h.description, schema: { type: 'string' } }]),
          ),
        }
      : {}),
    ...(schema || doc.contentType
      ? { content: { [doc.contentType ?? 'application/json']: schema ? { schema } : {} } }
      : {}),
  };
}

/** JSON Schema 2020-12, the dialect of OpenAPI 3.1, without the `$schema` line each part would repeat. */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonObject {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
  }) as JsonObject;
  return rest;
}

function propertiesOf(schema: z.ZodObject): Record<string, JsonObject> {
  return (jsonSchema(schema, 'input').properties ?? {}) as Record<string, JsonObject>;
}
