import { z } from 'zod';
import { errorResponse, type RouteDoc } from '../http/route-doc';
import { ROLES } from './permissions';

const TAGS = ['auth'];

const operatorSchema = z.object({
  id: z.string(),
  email: z.string().optional(),
  displayName: z.string(),
  role: z.enum(ROLES),
  tenants: z.array(z.string()),
});

const redirect = (description: string) => ({
  description,
  headers: [{ name: 'location', description: 'Where the browser goes next' }],
});

export const loginDocs = {
  page: {
    summary: 'The sign-in page: password, and single sign-on when configured',
    tags: TAGS,
    responses: {
      200: { description: 'The page', contentType: 'text/html' },
      404: errorResponse('not_found'),
    },
  },
  script: {
    summary: "The sign-in page's script",
    tags: TAGS,
    responses: {
      200: { description: 'The script', contentType: 'text/javascript' },
      404: errorResponse('not_found'),
    },
  },
  login: {
    summary: 'Password sign-in: sets the httpOnly session cookie',
    tags: TAGS,
    body: {
      contentTypes: ['application/json'],
      schema: z.object({ email: z.string(), password: z.string() }),
    },
    responses: {
      200: {
        description: 'Signed in; send csrfToken as X-CSRF-Token on every write',
        schema: z.object({ operator: operatorSchema, csrfToken: z.string() }),
        headers: [{ name: 'set-cookie', description: 'hub_session, httpOnly, SameSite=Strict' }],
      },
      400: errorResponse('auth.bad_request: the body does not match'),
      401: errorResponse('auth.invalid_credentials: wrong e-mail or password, or the account is disabled'),
    },
  },
  logout: {
    summary: 'Sign out: ends the session and clears its cookie',
    tags: TAGS,
    admin: true,
    body: { contentTypes: ['application/json'], schema: z.object({}), required: false },
    responses: { 200: { description: 'Signed out', schema: z.object({ status: z.literal('logged_out') }) } },
  },
  me: {
    summary: 'Who is signed in: operator, role, permissions and the CSRF token for writes',
    tags: TAGS,
    admin: true,
    responses: {
      200: {
        description: 'The caller',
        schema: z.object({
          operator: operatorSchema.extend({ kind: z.enum(['operator', 'token', 'bootstrap']) }),
          permissions: z.array(z.string()),
          csrfToken: z.string().optional(),
        }),
      },
    },
  },
  oidcStart: {
    summary: 'Single sign-on: redirect to the OpenID Connect issuer (code + PKCE)',
    tags: TAGS,
    query: z.object({
      next: z.string().optional().describe('A path on this hub to return to, default /console/'),
    }),
    responses: {
      302: redirect("The issuer's authorization endpoint"),
      404: errorResponse('oidc.not_configured: security.oidc is not set'),
      503: errorResponse('oidc.unavailable: the issuer did not answer'),
    },
  },
  oidcCallback: {
    summary: "Single sign-on: the issuer's redirect back; signs the operator in",
    tags: TAGS,
    query: z.object({ code: z.string().optional(), state: z.string().optional() }),
    responses: {
      302: redirect('Signed in: back to the page the sign-in started from'),
      403: errorResponse('oidc.*: unknown state, rejected code, domain not allowed, no account or disabled'),
      404: errorResponse('oidc.not_configured: security.oidc is not set'),
    },
  },
} satisfies Record<string, RouteDoc>;
