import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { ColumnType, Kysely } from 'kysely';
import type { Database } from '../store/schema';
import { HubError } from '../types/errors';
import { hashPassword } from './passwords';
import { ALL_TENANTS, isRole, type Role } from './permissions';

type Stamp = ColumnType<Date, string | undefined, string>;

interface OperatorsTable {
  id: string;
  email: string;
  display_name: string;
  role: string;
  tenants: ColumnType<string[], string, string>;
  password_hash: string | null;
  oidc_subject: string | null;
  disabled: ColumnType<boolean, boolean | undefined, boolean>;
  created_at: Stamp;
  updated_at: Stamp;
}

interface OperatorSessionsTable {
  id_hash: string;
  operator_id: string;
  csrf_token: string;
  method: string;
  created_at: Stamp;
  expires_at: Stamp;
}

interface OidcLoginsTable {
  state: string;
  code_verifier: string;
  nonce: string;
  return_to: string;
  expires_at: Stamp;
}

interface OperatorTables {
  operators: OperatorsTable;
  operator_sessions: OperatorSessionsTable;
  oidc_logins: OidcLoginsTable;
}

export interface Operator {
  id: string;
  email: string;
  displayName: string;
  role: Role;
  /** Tenants the operator works for; `*` is every tenant. */
  tenants: string[];
  disabled: boolean;
}

export interface OperatorSession {
  operator: Operator;
  csrfToken: string;
  expiresAt: Date;
}

export interface PendingOidcLogin {
  codeVerifier: string;
  nonce: string;
  returnTo: string;
}

export interface NewOperator {
  email: string;
  displayName?: string;
  role: Role;
  tenants: string[];
  password?: string;
  oidcSubject?: string;
}

const sha256 = (value: string) => createHash('sha256').update(value).digest('base64url');

interface OperatorRow {
  id: string;
  email: string;
  display_name: string;
  role: string;
  disabled: boolean;
  tenants: string[] | string;
}

function toOperator(row: OperatorRow): Operator {
  if (!isRole(row.role)) {
    throw new HubError('operators.bad_role', `Operator ${row.email} has an unknown role "${row.role}"`);
  }
  return {
    id: row.id,
    email: row.email,
    displayName: row.display_name,
    role: row.role,
    tenants: typeof row.tenants === 'string' ? JSON.parse(row.tenants) : row.tenants,
    disabled: row.disabled,
  };
}

/** Logins (an e-mail or a user name) compare without case or surrounding spaces. */
export const normalizeLogin = (login: string) => login.trim().toLowerCase();

/** Operator accounts, their sessions and pending single sign-on logins, in the hub's database. */
export class OperatorStore {
  private readonly db: Kysely<OperatorTables>;

  constructor(db: Kysely<Database>) {
    // The tables are this module's own; the shared Database type need not know them.
    this.db = db as unknown as Kysely<OperatorTables>;
  }

  async create(input: NewOperator): Promise<Operator> {
    const email = normalizeLogin(input.email);
    if (!/^[^\s@]+(@[^\s@]+)?$/.test(email)) {
      throw new HubError('operators.bad_email', `"${input.email}" is not an e-mail address or user name`, {
        status: 400,
      });
    }
    if (input.password !== undefined && input.password.length < 12) {
      throw new HubError('operators.weak_password', 'Use a password of at least 12 characters', {
        status: 400,
      });
    }
    const existing = await this.findByEmail(email);
    if (existing) {
      throw new HubError('operators.exists', `An operator ${email} exists; use set-role to change it`, {
        status: 409,
      });
    }
    const row = await this.db
      .insertInto('operators')
      .values({
        id: randomUUID(),
        email,
        display_name: input.displayName?.trim() || email.split('@')[0] || email,
        role: input.role,
        tenants: JSON.stringify(input.role === 'admin' ? [ALL_TENANTS] : input.tenants),
        password_hash: input.password ? await hashPassword(input.password) : null,
        oidc_subject: input.oidcSubject ?? null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toOperator(row);
  }

  async list(): Promise<Operator[]> {
    const rows = await this.db.selectFrom('operators').selectAll().orderBy('email').execute();
    return rows.map(toOperator);
  }

  async count(): Promise<number> {
    const row = await this.db
      .selectFrom('operators')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async findByEmail(email: string): Promise<Operator | undefined> {
    const row = await this.db
      .selectFrom('operators')
      .selectAll()
      .where('email', '=', normalizeLogin(email))
      .executeTakeFirst();
    return row && toOperator(row);
  }

  async passwordHashOf(email: string): Promise<{ operator: Operator; hash: string | null } | undefined> {
    const row = await this.db
      .selectFrom('operators')
      .selectAll()
      .where('email', '=', normalizeLogin(email))
      .executeTakeFirst();
    return row && { operator: toOperator(row), hash: row.password_hash };
  }

  async findBySubject(subject: string): Promise<Operator | undefined> {
    const row = await this.db
      .selectFrom('operators')
      .selectAll()
      .where('oidc_subject', '=', subject)
      .executeTakeFirst();
    return row && toOperator(row);
  }

  async bindSubject(id: string, subject: string): Promise<void> {
    await this.db
      .updateTable('operators')
      .set({ oidc_subject: subject, updated_at: new Date().toISOString() })
      .where('id', '=', id)
      .execute();
  }

  /** Changes role and, when given, tenants; ends the operator's sessions so the change holds at once. */
  async setRole(email: string, role: Role, tenants?: string[]): Promise<Operator> {
    return this.changeAndEndSessions(email, {
      role,
      ...(tenants || role === 'admin'
        ? { tenants: JSON.stringify(role === 'admin' ? [ALL_TENANTS] : tenants) }
        : {}),
    });
  }

  async setPassword(email: string, password: string): Promise<void> {
    if (password.length < 12) {
      throw new HubError('operators.weak_password', 'Use a password of at least 12 characters', {
        status: 400,
      });
    }
    const result = await this.db
      .updateTable('operators')
      .set({ password_hash: await hashPassword(password), updated_at: new Date().toISOString() })
      .where('email', '=', normalizeLogin(email))
      .executeTakeFirst();
    if (!result.numUpdatedRows)
      throw new HubError('operators.not_found', `No operator ${email}`, { status: 404 });
  }

  /** Disables the account and ends its sessions. */
  async disable(email: string): Promise<Operator> {
    return this.changeAndEndSessions(email, { disabled: true });
  }

  /** An account change that must hold at once: applied, then every session of the operator ended. */
  private async changeAndEndSessions(
    email: string,
    changes: { role?: Role; tenants?: string; disabled?: boolean },
  ): Promise<Operator> {
    const row = await this.db
      .updateTable('operators')
      .set({ ...changes, updated_at: new Date().toISOString() })
      .where('email', '=', normalizeLogin(email))
      .returningAll()
      .executeTakeFirst();
    if (!row) throw new HubError('operators.not_found', `No operator ${email}`, { status: 404 });
    await this.db.deleteFrom('operator_sessions').where('operator_id', '=', row.id).execute();
    return toOperator(row);
  }

  /** A new session; the returned token goes into the cookie, only its hash into the table. */
  async openSession(
    operator: Operator,
    method: 'password' | 'oidc',
    ttlMs: number,
  ): Promise<{ token: string; csrfToken: string }> {
    const token = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(32).toString('base64url');
    await this.db
      .insertInto('operator_sessions')
      .values({
        id_hash: sha256(token),
        operator_id: operator.id,
        csrf_token: csrfToken,
        method,
        expires_at: new Date(Date.now() + ttlMs).toISOString(),
      })
      .execute();
    return { token, csrfToken };
  }

  /** The live session of a cookie value: unexpired, and its operator not disabled. */
  async session(token: string): Promise<OperatorSession | undefined> {
    const row = await this.db
      .selectFrom('operator_sessions as s')
      .innerJoin('operators as o', 'o.id', 's.operator_id')
      .select([
        'o.id',
        'o.email',
        'o.display_name',
        'o.role',
        'o.tenants',
        'o.disabled',
        's.csrf_token',
        's.expires_at',
      ])
      .where('s.id_hash', '=', sha256(token))
      .executeTakeFirst();
    if (!row || row.disabled || new Date(row.expires_at).getTime() <= Date.now()) return undefined;
    return { operator: toOperator(row), csrfToken: row.csrf_token, expiresAt: new Date(row.expires_at) };
  }

  async closeSession(token: string): Promise<void> {
    await this.db.deleteFrom('operator_sessions').where('id_hash', '=', sha256(token)).execute();
  }

  async savePendingLogin(state: string, login: PendingOidcLogin, ttlMs: number): Promise<void> {
    const now = new Date();
    await this.db.deleteFrom('oidc_logins').where('expires_at', '<', now).execute();
    await this.db
      .insertInto('oidc_logins')
      .values({
        state,
        code_verifier: login.codeVerifier,
        nonce: login.nonce,
        return_to: login.returnTo,
        expires_at: new Date(now.getTime() + ttlMs).toISOString(),
      })
      .execute();
  }

  /** Takes (reads and deletes) a pending login: a state is good for one callback. */
  async takePendingLogin(state: string): Promise<PendingOidcLogin | undefined> {
    const row = await this.db
      .deleteFrom('oidc_logins')
      .where('state', '=', state)
      .returningAll()
      .executeTakeFirst();
    if (!row || new Date(row.expires_at).getTime() <= Date.now()) return undefined;
    return { codeVerifier: row.code_verifier, nonce: row.nonce, returnTo: row.return_to };
  }
}
