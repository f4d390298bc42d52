// The workspace dashboard: every account live over the WebSocket, the actions a support person needs, the webhook.
const $ = (id) => document.getElementById(id);
const state = {
  key: '',
  workspaceId: '',
  accounts: new Map(),
  socket: null,
  lastEventId: null,
  linking: null,
  /** When the QR on the page was generated: a newer one on the account is fetched. */
  shownQrAt: null,
  retry: 0,
  deliveriesOf: null,
  /** Whether this key reads the hosts (an admin key); asked once per key. */
  seesHosts: false,
};

function api(path, init = {}) {
  const headers = {
    authorization: `Bearer ${state.key}`,
    ...(init.body ? { 'content-type': 'application/json' } : {}),
  };
  return fetch(path, { ...init, headers: { ...headers, ...init.headers } }).then(async (response) => {
    const body = response.status === 204 ? null : await response.json().catch(() => null);
    if (!response.ok) throw new Error(body?.detail ?? body?.title ?? `HTTP ${response.status}`);
    return body;
  });
}
const accountPath = (sessionId, rest = '') => `/v1/workspaces/${state.workspaceId}/accounts/${sessionId}${rest}`;

function showError(error) {
  $('error').hidden = !error;
  $('error').textContent = error ? String(error.message ?? error) : '';
}

function say(id, text) {
  $(id).textContent = text;
}

const when = (iso) => (iso ? new Date(iso).toLocaleString() : '—');

/** What a row shows, the same across redraws: its account or its endpoint. */
const rowKey = (row) => row?.dataset.session ?? row?.dataset.endpoint ?? null;

/**
 * Replaces a table's rows and keeps the keyboard's place: live updates redraw the rows, and a button that had focus
 * hands it to the same action in the redrawn row of the same account or endpoint (to the row's first button when that
 * action is gone), so a keyboard user pressing Enter as an update arrives acts where they were instead of on nothing.
 * When the row itself is gone, the focus goes to the table's heading: the keyboard's place is kept near, and no other
 * account's button is under it.
 * The page does not scroll for it: an update must not pull a reader back to the table.
 */
function replaceRows(tbody, rows) {
  const focused = tbody.contains(document.activeElement) ? document.activeElement : null;
  const key = rowKey(focused?.closest('tr'));
  const action = focused?.textContent;
  tbody.replaceChildren(...rows);
  if (key === null) return;
  const twin = rows.find((row) => rowKey(row) === key);
  if (!twin) {
    // The row is gone (deleted): the table's heading, not another account's action a second Enter would run.
    const headingId =
      tbody.closest('table')?.getAttribute('aria-labelledby') ??
      tbody.closest('section')?.getAttribute('aria-labelledby');
    document.getElementById(headingId ?? '')?.focus({ preventScroll: true });
    return;
  }
  const buttons = [...twin.querySelectorAll('button')];
  (buttons.find((button) => button.textContent === action) ?? buttons[0])?.focus({ preventScroll: true });
}

/** One action button, named for screen readers with the account it acts on. */
function actionButton(label, sessionId, run, secondary = true) {
  const button = document.createElement('button');
  button.type = 'button';
  button.textContent = label;
  button.className = secondary ? 'secondary' : '';
  button.setAttribute('aria-label', `${label}: ${sessionId}`);
  button.onclick = async () => {
    showError(null);
    try {
      await run();
    } catch (error) {
      showError(error);
    }
  };
  return button;
}

function actionsFor(account) {
  const { sessionId } = account;
  // Failed, or logged out for good (disconnected with a logout's reason): nothing left to restart or log out.
  const ended = account.status === 'failed' || /^(logged_out|login_lost)/.test(account.failureReason ?? '');
  const buttons = [actionButton('Deliveries', sessionId, () => showDeliveries(sessionId))];
  if (account.status === 'connected' && !account.isPrimary) {
    buttons.push(
      actionButton('Make primary', sessionId, async () => {
        await api(accountPath(sessionId, '/primary'), { method: 'POST' });
        say('action-status', `${sessionId} is the primary account now.`);
        await refreshAll();
      }),
    );
  }
  if (!ended) {
    buttons.push(
      actionButton('Restart', sessionId, async () => {
        await api(accountPath(sessionId, '/restart'), { method: 'POST' });
        say('action-status', `${sessionId}: restarting from its saved login.`);
      }),
      actionButton('Log out', sessionId, async () => {
        await api(accountPath(sessionId, '/logout'), { method: 'POST' });
        say('action-status', `${sessionId}: logging out.`);
      }),
    );
  }
  if (state.seesHosts && account.status !== 'failed') {
    buttons.push(actionButton('Screenshot', sessionId, () => showScreenshot(sessionId)));
  }
  buttons.push(
    actionButton('Delete', sessionId, async () => {
      await api(accountPath(sessionId), { method: 'DELETE' });
      say('action-status', `${sessionId} deleted.`);
    }),
  );
  return buttons;
}

/** An admin's look at the session's page: the image lives in this tab only, and is forgotten on close. */
async function showScreenshot(sessionId) {
  const response = await fetch(accountPath(sessionId, '/screenshot'), {
    method: 'POST',
    headers: { authorization: `Bearer ${state.key}` },
  });
  if (!response.ok) {
    const body = await response.json().catch(() => null);
    throw new Error(body?.detail ?? body?.title ?? `HTTP ${response.status}`);
  }
  closeScreenshot();
  $('screenshot').src = URL.createObjectURL(await response.blob());
  $('screenshot').alt = `The WhatsApp Web page of ${sessionId}`;
  $('screenshot-heading').textContent = `What ${sessionId}'s page shows`;
  $('screenshot-section').hidden = false;
  $('screenshot-heading').focus();
}

function closeScreenshot() {
  const shown = $('screenshot').src;
  if (shown.startsWith('blob:')) URL.revokeObjectURL(shown);
  $('screenshot').removeAttribute('src');
  $('screenshot-section').hidden = true;
}

function render() {
  const rows = [...state.accounts.values()]
    .filter((a) => !a.deletedAt)
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  replaceRows(
    $('accounts'),
    rows.map((account) => {
      const tr = document.createElement('tr');
      tr.dataset.session = account.sessionId;
      const cells = [
        account.sessionId,
        account.status,
        account.detail,
        account.phoneNumber ?? '—',
        account.isPrimary ? '★ primary' : '',
        when(account.lastSeenAt),
      ];
      cells.forEach((text, index) => {
        const cell = document.createElement(index === 0 ? 'th' : 'td');
        if (index === 0) cell.scope = 'row';
        cell.textContent = text;
        if (index === 1) cell.className = `status status-${account.status}`;
        if (index === 2) cell.dataset.testid = 'detail';
        tr.append(cell);
      });
      const actions = document.createElement('td');
      actions.className = 'actions';
      actions.append(...actionsFor(account));
      tr.append(actions);
      return tr;
    }),
  );
  const linking = state.linking && state.accounts.get(state.linking);
  if (linking) {
    $('link-status').textContent = linking.status;
    $('link-detail').textContent = linking.detail;
    $('link-phone').textContent = linking.phoneNumber ? `· ${linking.phoneNumber}` : '';
    const scanning = linking.status === 'qr_scanning';
    $('qr').hidden = !scanning || Boolean(linking.pairingCode) || !$('qr').src;
    $('scan-hint').hidden = !scanning || Boolean(linking.pairingCode);
    $('pairing-card').hidden = !scanning || !linking.pairingCode;
    if (linking.pairingCode) $('pairing-code').textContent = linking.pairingCode.value;
  }
}

async function refreshQr(sessionId) {
  if (state.linking !== sessionId) return;
  try {
    const { dataUrl, generatedAt } = await api(`${accountPath(sessionId, '/qr')}?format=data_url`);
    if (state.linking !== sessionId) return;
    $('qr').src = dataUrl;
    state.shownQrAt = generatedAt;
    render();
  } catch {
    // No QR yet: the next qr event brings it.
  }
}

/**
 * Reads one account again; for the account being linked, its QR too when the account offers one the page does not
 * show yet. The account is the one place that decides: a qr event can arrive before the account is being linked (its
 * create not answered yet) or before its status says it is scanning, and then the QR it announced is fetched here.
 */
async function refreshAccount(sessionId) {
  const account = await api(accountPath(sessionId));
  state.accounts.set(sessionId, account);
  render();
  if (sessionId === state.linking && account.qr && account.qr.generatedAt !== state.shownQrAt) {
    await refreshQr(sessionId);
  }
  if (state.deliveriesOf === sessionId) await showDeliveries(sessionId);
}

async function refreshAll() {
  const page = await api(`/v1/workspaces/${state.workspaceId}/accounts?limit=200`);
  state.accounts = new Map(page.items.map((account) => [account.sessionId, account]));
  render();
}

/** Deliveries are attempted after their event: the open list is read again every few seconds. */
const DELIVERIES_REFRESH_MS = 3_000;
let deliveriesTimer = null;

async function showDeliveries(sessionId) {
  state.deliveriesOf = sessionId;
  clearTimeout(deliveriesTimer);
  deliveriesTimer = setTimeout(() => {
    if (state.deliveriesOf === sessionId) void showDeliveries(sessionId).catch(() => undefined);
  }, DELIVERIES_REFRESH_MS);
  const { items } = await api(`${accountPath(sessionId, '/webhook-deliveries')}?limit=20`);
  $('deliveries-of').textContent = `of ${sessionId}`;
  $('deliveries').replaceChildren(
    ...items.map((delivery) => {
      const tr = document.createElement('tr');
      const outcome = delivery.delivered ? 'delivered' : `failed${delivery.error ? `: ${delivery.error}` : ''}`;
      for (const text of [
        `#${delivery.eventId} ${delivery.eventType}`,
        delivery.kind,
        delivery.attempt === 0 ? 'not sent' : String(delivery.attempt),
        outcome,
        delivery.statusCode === null ? '—' : String(delivery.statusCode),
        delivery.latencyMs === null ? '—' : `${delivery.latencyMs} ms`,
        when(delivery.attemptedAt),
      ]) {
        const td = document.createElement('td');
        td.textContent = text;
        tr.append(td);
      }
      return tr;
    }),
  );
}

/** The workspace's webhook endpoints, with what a support person does to one: enable or disable it, resend what it missed. */
async function refreshEndpoints() {
  const { items } = await api(`/v1/workspaces/${state.workspaceId}/webhook-endpoints`);
  replaceRows(
    $('endpoints'),
    items.map((endpoint) => {
      const tr = document.createElement('tr');
      tr.dataset.endpoint = endpoint.id;
      const stateText = endpoint.enabled
        ? endpoint.failingSince
          ? `failing since ${when(endpoint.failingSince)}`
          : 'enabled'
        : `disabled (${endpoint.disabledReason === 'failing' ? 'failing for 3 days' : 'by a user'})`;
      for (const text of [
        endpoint.url,
        endpoint.eventTypes ? endpoint.eventTypes.join(', ') : 'all',
        endpoint.sessionId ?? (endpoint.setting === 'workspace_webhook' ? 'all (the URL above)' : 'all'),
        stateText,
      ]) {
        const td = document.createElement('td');
        td.textContent = text;
        tr.append(td);
      }
      const actions = document.createElement('td');
      const path = `/v1/workspaces/${state.workspaceId}/webhook-endpoints/${endpoint.id}`;
      actions.append(
        actionButton(endpoint.enabled ? 'Disable' : 'Enable', endpoint.url, async () => {
          const changed = await api(path, { method: 'PATCH', body: JSON.stringify({ enabled: !endpoint.enabled }) });
          await refreshEndpoints();
          if (changed.missed && changed.missed.failedEvents > 0) {
            const { missed } = changed;
            const resend = actionButton(`Resend ${missed.failedEvents} missed`, endpoint.url, async () => {
              const started = await api(missed.resend, {
                method: 'POST',
                body: JSON.stringify({ failedSince: missed.since }),
              });
              say('webhook-status', `Resending ${started.events} event(s) to ${endpoint.url}, oldest first.`);
              resend.remove();
            });
            $('endpoints').querySelector(`[data-endpoint="${endpoint.id}"] td:last-child`)?.append(resend);
          }
        }),
      );
      tr.append(actions);
      return tr;
    }),
  );
}

/** The workspace's audit: read when the workspace opens, after each change made here, and every few seconds. */
async function refreshAudit() {
  const { items } = await api(`/v1/workspaces/${state.workspaceId}/audit?limit=20`);
  $('audit').replaceChildren(
    ...items.map((entry) => {
      const tr = document.createElement('tr');
      const who = entry.actor.keyPrefix ? `${entry.actor.name} (${entry.actor.keyPrefix})` : entry.actor.name;
      for (const text of [
        when(entry.occurredAt),
        who,
        entry.action.replace('/v1/workspaces/:workspaceId', ''),
        entry.target ?? '—',
        `${entry.outcome} (${entry.statusCode})`,
      ]) {
        const td = document.createElement('td');
        td.textContent = text;
        tr.append(td);
      }
      return tr;
    }),
  );
}
const AUDIT_REFRESH_MS = 5_000;
setInterval(() => {
  if (state.workspaceId && state.key && !$('workspace').hidden) void refreshAudit().catch(() => undefined);
}, AUDIT_REFRESH_MS);

const megabytes = (bytes) => (bytes === null ? '—' : `${Math.round(bytes / 2 ** 20)} MB`);

/** Operators see the fleet: only an admin key reads the hosts (GET /v1/key says which key this is). */
async function refreshHosts() {
  let hosts;
  try {
    ({ items: hosts } = await api('/v1/admin/hosts?seenWithinSeconds=600'));
  } catch {
    // Shown again at the next refresh: a missed one leaves the last table.
    return;
  }
  $('hosts').replaceChildren(
    ...hosts.map((host) => {
      const tr = document.createElement('tr');
      tr.dataset.host = host.taskQueue;
      const builds = host.builds.map((build) => `${build.version ?? 'not seen yet'} × ${build.sessions}`).join(', ');
      const memory = `${megabytes(host.processMemoryBytes)} + browsers ${megabytes(host.sessionsMemoryBytes)}`;
      const cells = [
        `${host.hostname} (pid ${host.pid})`,
        host.state,
        `${host.sessions} / ${host.seats}`,
        String(host.startsPerSecond),
        builds || '—',
        memory,
        when(host.leasesRenewedAt),
      ];
      cells.forEach((text, index) => {
        const cell = document.createElement(index === 0 ? 'th' : 'td');
        if (index === 0) cell.scope = 'row';
        cell.textContent = text;
        if (index === 1) cell.className = `host-state host-state-${host.state}`;
        tr.append(cell);
      });
      return tr;
    }),
  );
}
const HOSTS_REFRESH_MS = 5_000;
setInterval(() => {
  if (state.seesHosts) void refreshHosts();
}, HOSTS_REFRESH_MS);

/** Last seen moves without an event (the hosts' checks write it): the list is read again now and then. */
const LIST_REFRESH_MS = 30_000;
setInterval(() => {
  if (state.workspaceId && state.key) void refreshAll().catch(() => undefined);
}, LIST_REFRESH_MS);

function openStream() {
  const params = new URLSearchParams({ workspaceId: state.workspaceId, access_token: state.key });
  if (state.lastEventId !== null) params.set('lastEventId', String(state.lastEventId));
  const socket = new WebSocket(
    `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/stream?${params}`,
  );
  state.socket = socket;
  socket.onopen = () => {
    state.retry = 0;
    $('connection').textContent = `Live: workspace ${state.workspaceId}`;
  };
  socket.onmessage = (message) => {
    const event = JSON.parse(message.data);
    if (typeof event.id !== 'number') return;
    state.lastEventId = event.id;
    void refreshAccount(event.sessionId).catch(() => undefined);
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
    await refreshAll();
    const webhook = await api(`/v1/workspaces/${state.workspaceId}/webhook`);
    $('webhook-url').value = webhook.webhookUrl ?? '';
    await refreshEndpoints();
    $('workspace').hidden = false;
    state.socket?.close();
    state.socket = null;
    openStream();
    await refreshAudit();
    const key = await api('/v1/key');
    state.seesHosts = key.admin;
    $('hosts-section').hidden = !key.admin;
    if (key.admin) await refreshHosts();
    $('accounts-heading').focus();
  } catch (error) {
    showError(error);
  }
};

for (const radio of document.querySelectorAll('input[name=mode]')) {
  radio.onchange = () => {
    const pairing = document.querySelector('input[name=mode]:checked').value === 'pairing_code';
    $('pairing-phone-label').hidden = !pairing;
    $('pairing-phone').required = pairing;
  };
}

$('add-form').onsubmit = async (submit) => {
  submit.preventDefault();
  showError(null);
  const mode = document.querySelector('input[name=mode]:checked').value;
  const body = mode === 'pairing_code' ? { mode, phoneNumber: $('pairing-phone').value.trim() } : {};
  try {
    const account = await api(`/v1/workspaces/${state.workspaceId}/accounts`, {
      method: 'POST',
      body: JSON.stringify(body),
    });
    state.accounts.set(account.sessionId, account);
    state.linking = account.sessionId;
    state.shownQrAt = null;
    $('link-card').hidden = false;
    $('link-session').textContent = account.sessionId;
    $('qr').removeAttribute('src');
    $('pairing-code').textContent = '…';
    render();
    // The QR or the pairing code arrives as an event on the stream, which is already open; one that came before this
    // answer found no account being linked, so the account (and its QR, when it has one) is read once now too.
    void refreshAccount(account.sessionId).catch(() => undefined);
  } catch (error) {
    showError(error);
  }
};

$('webhook-form').onsubmit = async (submit) => {
  submit.preventDefault();
  showError(null);
  const webhookUrl = $('webhook-url').value.trim() || null;
  try {
    await api(`/v1/workspaces/${state.workspaceId}/webhook`, { method: 'PUT', body: JSON.stringify({ webhookUrl }) });
    say(
      'webhook-status',
      webhookUrl ? `Events go to ${webhookUrl}.` : 'No webhook URL: events go to the endpoints below.',
    );
    await refreshEndpoints();
  } catch (error) {
    showError(error);
  }
};

$('screenshot-close').onclick = closeScreenshot;
