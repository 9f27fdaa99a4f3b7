import type { ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { sendJson } from './api';
import { PAGES, type PageEntry, type PageProps } from './pages';
import type { Session } from './session';
import { ErrorBox, Loading } from './ui';

const BASE = '/console/';

/** The page path of a location: `/console/overview?x` → `overview`. */
function pagePath(pathname: string): string {
  return pathname.startsWith(BASE) ? (pathname.slice(BASE.length).split('/')[0] ?? '') : '';
}

/** Move within the console without a reload (links and pages call this). */
export function navigate(to: string): void {
  window.history.pushState(null, '', to);
  window.dispatchEvent(new PopStateEvent('popstate'));
}

function useLocation(): string {
  const [location, setLocation] = useState(window.location.pathname + window.location.search);
  useEffect(() => {
    const update = () => setLocation(window.location.pathname + window.location.search);
    window.addEventListener('popstate', update);
    return () => window.removeEventListener('popstate', update);
  }, []);
  return location;
}

function PageView({ entry, session }: { entry: PageEntry; session: Session }) {
  const [loaded, setLoaded] = useState<
    { path: string; Page: ComponentType<PageProps> } | { error: unknown }
  >();
  useEffect(() => {
    let live = true;
    entry.load().then(
      (module) => live && setLoaded({ path: entry.path, Page: module.default }),
      (error: unknown) => live && setLoaded({ error }),
    );
    return () => {
      live = false;
    };
  }, [entry]);
  if (!loaded) return <Loading />;
  if ('error' in loaded) return <ErrorBox error={loaded.error} />;
  if (loaded.path !== entry.path) return <Loading />;
  const { Page } = loaded;
  return <Page session={session} />;
}

/** The shell: who is signed in, the menu of the pages this role may open, the open page. */
export function App({ session }: { session: Session }) {
  const location = useLocation();
  const allowed = PAGES.filter((entry) => session.can(entry.permission));
  const wanted = pagePath(location.split('?')[0] ?? '');
  const entry = allowed.find((one) => one.path === wanted);
  const [menuOpen, setMenuOpen] = useState(false);

  useEffect(() => {
    // The console's root opens the first page this role may see.
    if (wanted || !allowed[0]) return;
    window.history.replaceState(null, '', `${BASE}${allowed[0].path}`);
    window.dispatchEvent(new PopStateEvent('popstate'));
  }, [wanted, allowed]);

  useEffect(() => {
    document.title = entry ? `${entry.title} · Hub console` : 'Hub console';
    setMenuOpen(false);
  }, [entry]);

  const logout = async () => {
    await sendJson('POST', '/auth/logout').catch(() => undefined);
    window.location.assign('/login?next=/console/');
  };

  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Hub console</span>
        <button
          type="button"
          class="menu-toggle"
          aria-expanded={menuOpen}
          aria-controls="nav"
          onClick={() => setMenuOpen(!menuOpen)}
        >
          Menu
        </button>
        <nav id="nav" aria-label="Console pages" class={menuOpen ? 'open' : undefined}>
          <ul>
            {allowed.map((one) => (
              <li key={one.path}>
                <a
                  href={`${BASE}${one.path}`}
                  data-permission={one.permission}
                  aria-current={one === entry ? 'page' : undefined}
                  onClick={(event) => {
                    if (event.ctrlKey || event.metaKey || event.shiftKey) return;
                    event.preventDefault();
                    navigate(`${BASE}${one.path}`);
                  }}
                >
                  {one.title}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <span data-testid="operator">
            {session.operator.displayName} <span class="role">({session.operator.role})</span>
          </span>
          <button type="button" onClick={logout}>
            Log out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {entry ? (
          <PageView entry={entry} session={session} />
        ) : wanted && PAGES.some((one) => one.path === wanted) ? (
          <p class="error" role="alert">
            Your role ({session.operator.role}) may not open this page.
          </p>
        ) : allowed.length === 0 ? (
          <p class="muted">There is no console page for your role ({session.operator.role}).</p>
        ) : wanted ? (
          <p class="error" role="alert">
            There is no page “{wanted}”.
          </p>
        ) : (
          <Loading />
        )}
      </main>
    </>
  );
}
