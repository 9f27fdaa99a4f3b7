// Password sign-in: the hub sets the session cookie; the page then goes where it was sent from.
const next = new URLSearchParams(window.location.search).get('next');
const target = next && /^\/(?![/\\])/.test(next) ? next : '/console/';
const sso = document.getElementById('sso');
if (sso) sso.href = `/auth/oidc/start?next=${encodeURIComponent(target)}`;

document.getElementById('login').addEventListener('submit', async (event) => {
  event.preventDefault();
  const status = document.getElementById('status');
  status.textContent = '';
  const response = await fetch('/auth/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      email: document.getElementById('email').value,
      password: document.getElementById('password').value,
    }),
  });
  if (response.ok) {
    window.location.assign(target);
    return;
  }
  const data = await response.json().catch(() => ({}));
  status.textContent = data.error?.message || `${response.status} ${response.statusText}`;
});
