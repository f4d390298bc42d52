// Trades an admin key for an HttpOnly session cookie, then opens the console the operator asked for. The key is sent
// once, in a header, and never stored by the page.
const form = document.getElementById('login-form');
const keyInput = document.getElementById('admin-key');
const errorBox = document.getElementById('login-error');

/** Only a path of the consoles this API serves: never a redirect to another site. */
function nextPath() {
  const next = new URLSearchParams(window.location.search).get('next') ?? '';
  return /^\/temporal(\/|$)/.test(next) && !next.startsWith('//') ? next : '/temporal/';
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  errorBox.hidden = true;
  const response = await fetch('/v1/admin/operator-sessions', {
    method: 'POST',
    headers: { authorization: `Bearer ${keyInput.value.trim()}` },
  });
  if (response.ok) {
    keyInput.value = '';
    window.location.assign(nextPath());
    return;
  }
  const problem = await response.json().catch(() => ({}));
  errorBox.textContent =
    response.status === 404 ? 'This key is not an admin key.' : (problem.detail ?? `Sign-in failed (${response.status}).`);
  errorBox.hidden = false;
  keyInput.focus();
});
