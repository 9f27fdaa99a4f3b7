import { z } from 'zod';
import { ROLES } from '../security/permissions';
import { rateLimitsSchema } from '../security/rate-limits-schema';

const secret = z.string().min(24, 'use at least 24 random characters, e.g. `openssl rand -base64 32`');

/**
 * Single sign-on with OpenID Connect (authorization code + PKCE). An operator is found by the
 * issuer's subject, then by e-mail; a first login creates one with `defaultRole` only when
 * `createOperators` is on and the e-mail's domain is allowed.
 */
export const oidcSchema = z.object({
  /** The issuer URL; its /.well-known/openid-configuration is read at start-up. */
  issuer: z.url(),
  clientId: z.string().min(1),
  /** Unset: a public client (PKCE only). */
  clientSecret: z.string().min(1).optional(),
  /** This hub's callback, registered at the issuer: https://<hub>/auth/oidc/callback. */
  redirectUri: z.url(),
  scopes: z.string().default('openid email profile'),
  /** A claim naming the role (admin, supervisor, agent, analyst); unset or unknown: `defaultRole`. */
  roleClaim: z.string().optional(),
  defaultRole: z.enum(ROLES).default('agent'),
  /** A claim listing the tenants; unset: `defaultTenants`. */
  tenantsClaim: z.string().optional(),
  defaultTenants: z.array(z.string().min(1)).default(['default']),
  /** E-mail domains allowed to sign in (e.g. ["example.com"]); empty: any the issuer vouches for. */
  allowedDomains: z.array(z.string().min(1)).default([]),
  /** Create an operator at the first login; off: only operators made with `hub operators create`. */
  createOperators: z.union([z.boolean(), z.stringbool()]).default(true),
  /** Plain http to the issuer: only for an issuer on this machine in development and tests. */
  allowInsecureIssuer: z.union([z.boolean(), z.stringbool()]).default(false),
});

export const securitySectionSchema = z
  .object({
    /** How long an operator's login lasts. */
    sessionTtlHours: z.coerce.number().positive().default(12),
    /** When set, GET /metrics wants `Authorization: Bearer <metricsToken>`. */
    metricsToken: secret.optional(),
    /** Machine access with a role: each token acts as `name` with `role` (e.g. a reporting job as analyst). */
    tokens: z
      .array(
        z.object({
          name: z.string().regex(/^[\w.-]+$/, 'use letters, digits, ".", "_" or "-"'),
          role: z.enum(ROLES),
          token: secret,
          tenants: z.array(z.string().min(1)).default(['*']),
        }),
      )
      .default([]),
    oidc: oidcSchema.optional(),
    /** Requests, messages, sockets and model calls per address, customer and tenant (core/security/access-limits.ts). */
    rateLimits: rateLimitsSchema,
  })
  .prefault({});

export type SecurityConfig = z.infer<typeof securitySectionSchema>;
export type OidcConfig = z.infer<typeof oidcSchema>;
