/**
 * Headers of the hub's own operator pages (sign-in, agent console): the page runs only its own
 * script and style, talks only to this origin, cannot be framed and leaks no referrer. A page
 * with a form that posts back (sign-in) allows `form-action 'self'`; the others allow none.
 */
export function operatorPageHeaders(options: {
  formAction: 'self' | 'none';
  cache: 'no-store' | 'no-cache';
}): Record<string, string> {
  return {
    'content-security-policy': [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      "connect-src 'self'",
      "base-uri 'none'",
      `form-action '${options.formAction}'`,
      "frame-ancestors 'none'",
    ].join('; '),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': options.cache,
  };
}
