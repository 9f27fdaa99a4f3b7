import { render } from 'preact';
import { App } from './app';
import { loadSession } from './session';
import './styles.css';

const root = document.getElementById('app');
if (root) {
  loadSession().then(
    (session) => {
      if (session) render(<App session={session} />, root);
    },
    (error: unknown) => {
      root.textContent = `The console could not start: ${error instanceof Error ? error.message : String(error)}`;
    },
  );
}
