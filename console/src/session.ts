import { ApiError, getJson, useCsrfToken } from './api';

/** Who is signed in and what they may do: GET /admin/me. */
export interface Session {
  operator: {
    id: string;
    kind: string;
    email?: string;
    displayName: string;
    role: string;
    tenants: string[];
  };
  permissions: string[];
  csrfToken?: string;
  can(permission: string): boolean;
}

interface Me {
  operator: Session['operator'];
  permissions: string[];
  csrfToken?: string;
}

export function loginUrl(): string {
  return `/login?next=${encodeURIComponent(window.location.pathname + window.location.search)}`;
}

/** The session, or undefined after sending the browser to the sign-in page. */
export async function loadSession(): Promise<Session | undefined> {
  try {
    const me = await getJson<Me>('/admin/me');
    useCsrfToken(me.csrfToken);
    const granted = new Set(me.permissions);
    return { ...me, can: (permission) => granted.has(permission) };
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      window.location.assign(loginUrl());
      return undefined;
    }
    throw error;
  }
}

export function allTenants(session: Session): boolean {
  return session.operator.tenants.includes('*');
}
