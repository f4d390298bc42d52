import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseProxyUrl, proxyUrl } from '../../domain/proxy-setting.js';
import { carriesTarget } from '../../engine/real/proxy-bridge.js';

describe('proxy settings (pure functions)', () => {
  it('reads http, https and socks5 proxies, the port defaulting per scheme, IPv6 hosts in brackets', () => {
    assert.deepEqual(parseProxyUrl('socks5://proxy.example:1081'), {
      scheme: 'socks5',
      host: 'proxy.example',
      port: 1081,
    });
    assert.deepEqual(parseProxyUrl('http://proxy.example'), { scheme: 'http', host: 'proxy.example', port: 80 });
    assert.deepEqual(parseProxyUrl('https://proxy.example/'), { scheme: 'https', host: 'proxy.example', port: 443 });
    assert.deepEqual(parseProxyUrl('socks5://proxy.example'), { scheme: 'socks5', host: 'proxy.example', port: 1080 });
    const v6 = parseProxyUrl('http://[2001:db8::7]:3128');
    assert.deepEqual(v6, { scheme: 'http', host: '2001:db8::7', port: 3128 });
    assert.equal(proxyUrl({ scheme: 'http', host: '2001:db8::7', port: 3128 }), 'http://[2001:db8::7]:3128');
  });

  it('refuses another scheme, credentials in the URL, a path or a query, and what is no URL, each with its code', () => {
    const codeOf = (text: string) => {
      const parsed = parseProxyUrl(text);
      return 'code' in parsed ? parsed.code : null;
    };
    assert.equal(codeOf('ftp://proxy.example:21'), 'proxy_scheme_unsupported');
    assert.equal(codeOf('socks4://proxy.example:1080'), 'proxy_scheme_unsupported');
    assert.equal(codeOf('http://user:pass@proxy.example:3128'), 'proxy_credentials_in_url');
    assert.equal(codeOf('socks5://user@proxy.example:1080'), 'proxy_credentials_in_url');
    assert.equal(codeOf('http://proxy.example:3128/x'), 'proxy_url_invalid');
    assert.equal(codeOf('http://proxy.example:3128?a=1'), 'proxy_url_invalid');
    assert.equal(codeOf('proxy.example:3128'), 'proxy_scheme_unsupported');
    assert.equal(codeOf('not a url'), 'proxy_url_invalid');
  });

  it("the bridge carries WhatsApp's hosts only, never Google's or a look-alike", () => {
    for (const host of ['web.whatsapp.com', 'whatsapp.com', 'mmg.whatsapp.net', 'WEB.WhatsApp.com.'])
      assert.equal(carriesTarget(host), true, host);
    for (const host of ['update.googleapis.com', 'accounts.google.com', 'evilwhatsapp.com', 'whatsapp.com.evil.test'])
      assert.equal(carriesTarget(host), false, host);
  });
});
