import type { FastifyInstance } from 'fastify';

/** `METHOD /path/{param}` for every route the server registered, read from Fastify's own route tree. */
export function registeredRoutes(server: FastifyInstance): string[] {
  const stack: string[] = [];
  const routes: string[] = [];
  for (const line of server.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^((?:│ {3}| {4})*)(?:├── |└── )(.+?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = (match[1] ?? '').length / 4;
    stack[depth] = `${depth > 0 ? stack[depth - 1] : ''}${match[2]}`;
    for (const method of match[3]?.split(', ') ?? []) {
      routes.push(`${method} ${(stack[depth] as string).replace(/:(\w+)/g, '{$1}')}`);
    }
  }
  return routes;
}
