// The "add account" page: talks to the API with the key typed in, and follows the workspace over the WebSocket.
const $ = (id) => document.getElementById(id);
const state = { key: '', workspaceId: '', accounts: new Map(), socket: null, lastEventId: null, linking: null, retry: 0 };

function api(path, init = {}) {
  return fetch(path, { ...init, headers: { authorization: `Bearer ${state.key}`, ...(init.body ? { 'content-type': 'application/json' } : {}), ...init.headers } })
    .then(async (response) => {
      const body = response.status === 204 ? null : await response.json().catch(() => null);
      if (!response.ok) throw new Error(body?.detail ?? body?.title ?? `HTTP ${response.status}`);
      return body;
    });
}

function showError(error) {
  $('error').hidden = !error;
  $('error').textContent = error ? String(error.message ?? error) : '';
}

function render() {
  const rows = [...state.accounts.values()].filter((a) => !a.deletedAt).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  $('accounts').replaceChildren(...rows.map((account) => {
    const tr = document.createElement('tr');
    tr.dataset.session = account.sessionId;
    const cells = [account.sessionId, account.status, account.phoneNumber ?? '—', account.isPrimary ? '★ primary' : ''];
    cells.forEach((text, index) => {
      const td = document.createElement('td');
      td.textContent = text;
      if (index === 1) td.className = `status status-${account.status}`;
      tr.append(td);
    });
    const remove = document.createElement('button');
    remove.className = 'secondary';
    remove.textContent = 'Remove';
    remove.onclick = () => api(`/v1/workspaces/${state.workspaceId}/accounts/${account.sessionId}`, { method: 'DELETE' }).catch(showError);
    const td = document.createElement('td');
    td.append(remove);
    tr.append(td);
    return tr;
  }));
  const linking = state.linking && state.accounts.get(state.linking);
  if (linking) {
    $('link-status').textContent = linking.status;
    $('link-phone').textContent = linking.phoneNumber ? `· ${linking.phoneNumber}` : '';
    $('qr').hidden = linking.status !== 'qr_scanning';
    $('scan-hint').hidden = linking.status !== 'qr_scanning';
  }
}

async function refreshQr(sessionId) {
  if (state.linking !== sessionId) return;
  try {
    const { dataUrl } = await api(`/v1/workspaces/${state.workspaceId}/accounts/${sessionId}/qr?format=data_url`);
    $('qr').src = dataUrl;
  } catch {
    // No QR yet: the next qr event brings it.
  }
}

async function refreshAccount(sessionId) {
  const account = await api(`/v1/workspaces/${state.workspaceId}/accounts/${sessionId}`);
  state.accounts.set(sessionId, account);
  render();
}

function openStream() {
  const params = new URLSearchParams({ workspaceId: state.workspaceId, access_token: state.key });
  if (state.lastEventId !== null) params.set('lastEventId', String(state.lastEventId));
  const socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/stream?${params}`);
  state.socket = socket;
  socket.onopen = () => { state.retry = 0; $('connection').textContent = `Live: workspace ${state.workspaceId}`; };
  socket.onmessage = (message) => {
    const event = JSON.parse(message.data);
    if (typeof event.id !== 'number') return;
    state.lastEventId = event.id;
    if (event.type === 'qr') void refreshQr(event.sessionId);
    else void refreshAccount(event.sessionId).catch(() => undefined);
  };
  socket.onclose = () => {
    if (state.socket !== socket) return;
    // Reconnect with the last event id: the server sends what was missed, then the live stream.
    const delay = Math.min(10_000, 500 * 2 ** state.retry++);
    $('connection').textContent = `Reconnecting in ${Math.round(delay / 1000)} s…`;
    setTimeout(openStream, delay);
  };
}

$('connect-form').onsubmit = async (submit) => {
  submit.preventDefault();
  state.key = $('api-key').value.trim();
  state.workspaceId = $('workspace-id').value.trim();
  showError(null);
  try {
    const page = await api(`/v1/workspaces/${state.workspaceId}/accounts?limit=200`);
    state.accounts = new Map(page.items.map((account) => [account.sessionId, account]));
    $('workspace').hidden = false;
    render();
    state.socket?.close();
    state.socket = null;
    openStream();
  } catch (error) {
    showError(error);
  }
};

$('add-account').onclick = async () => {
  showError(null);
  try {
    const account = await api(`/v1/workspaces/${state.workspaceId}/accounts`, { method: 'POST', body: JSON.stringify({}) });
    state.accounts.set(account.sessionId, account);
    state.linking = account.sessionId;
    $('link-card').hidden = false;
    $('link-session').textContent = account.sessionId;
    $('qr').removeAttribute('src');
    render();
    // The QR arrives as a `qr` event on the stream, which is already open.
  } catch (error) {
    showError(error);
  }
};
