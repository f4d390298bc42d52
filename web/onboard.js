'use strict';
// The page behind an onboarding link: its token is the last part of the address, and the only thing it holds.
(() => {
  const $ = (id) => document.getElementById(id);
  const token = decodeURIComponent(location.pathname.split('/')[2] || '');
  const base = `/onboard/${encodeURIComponent(token)}`;
  let ended = false;
  let retryMs = 1000;

  const show = (id, visible) => {
    $(id).hidden = !visible;
  };
  const fail = (text) => {
    $('error').textContent = text;
    show('error', Boolean(text));
  };

  function render(state) {
    if (state.workspaceName) {
      $('heading').textContent = `Link your WhatsApp to ${state.workspaceName}`;
      document.title = `Link your WhatsApp to ${state.workspaceName}`;
    }
    $('detail').textContent = state.detail;
    if (state.qr) $('qr').src = state.qr.dataUrl;
    show('qr', Boolean(state.qr));
    $('code').textContent = state.pairingCode || '';
    show('code', Boolean(state.pairingCode));
    $('linked').textContent = state.linkedPhone ? `Linked: the number ending in ${state.linkedPhone.replace('…', '')}` : '';
    show('linked', state.step === 'connected');
    show('pairing-form', state.step === 'scan_qr' || state.step === 'starting');
    $('expires').textContent =
      state.step === 'connected' ? '' : `This link works until ${new Date(state.expiresAt).toLocaleString()}.`;
  }

  function finish(detail) {
    ended = true;
    $('detail').textContent = detail;
    for (const id of ['qr', 'code', 'pairing-form', 'expires']) show(id, false);
    $('expires').textContent = '';
  }

  async function load() {
    const response = await fetch(`${base}/state`, { cache: 'no-store', credentials: 'omit' });
    const body = await response.json().catch(() => ({}));
    if (response.ok) return render(body);
    if (response.status === 404 || response.status === 410) {
      if (body.reason === 'connected') {
        $('linked').textContent = 'Linked.';
        show('linked', true);
      }
      return finish(body.detail || 'This link does not work.');
    }
    fail(body.detail || 'The page could not load; try again in a moment.');
  }

  function follow() {
    if (ended) return;
    const socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${base}/stream`);
    socket.addEventListener('open', () => {
      retryMs = 1000;
      fail('');
    });
    socket.addEventListener('message', (message) => {
      const data = JSON.parse(message.data);
      if (data.type === 'state') render(data);
      if (data.type === 'ended') finish(data.detail);
    });
    socket.addEventListener('close', () => {
      if (ended) return;
      // Gone for a moment (the service restarting): the state is read again, then followed again.
      setTimeout(() => load().then(follow, follow), retryMs);
      retryMs = Math.min(retryMs * 2, 15000);
    });
  }

  $('pairing-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    fail('');
    const response = await fetch(`${base}/pairing-code`, {
      method: 'POST',
      credentials: 'omit',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ phoneNumber: $('phone').value.trim() }),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) return fail(body.detail || 'No code now; try again in a moment.');
    $('code').textContent = body.code;
    show('code', true);
    show('qr', false);
  });

  load().then(follow, () => {
    fail('The page could not load; try again in a moment.');
    follow();
  });
})();
