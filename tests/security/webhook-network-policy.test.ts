import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addressRefusal, STRICT_POLICY, urlRefusal, webhookPolicyFromEnv } from '../../webhooks/network-policy.js';

/** The webhook network policy as a pure function: no address below is ever contacted. */
describe('webhook network policy', () => {
  it('refuses loopback, private, link-local, unique-local, multicast, reserved and metadata addresses', () => {
    const refused = [
      '127.0.0.1',
      '127.255.255.254',
      '10.1.2.3',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '100.64.0.1',
      '169.254.169.254', // AWS, GCP, Azure metadata
      '0.0.0.0',
      '224.0.0.1',
      '255.255.255.255',
      '::1',
      '::',
      'fe80::1',
      'fd00:ec2::254', // AWS metadata over IPv6
      'fc00::1',
      'ff02::1',
      '::ffff:127.0.0.1', // IPv4-mapped IPv6
      '::ffff:a9fe:a9fe', // 169.254.169.254, mapped
      '64:ff9b::a9fe:a9fe', // NAT64 of the metadata address
    ];
    for (const address of refused) assert.notEqual(addressRefusal(address), null, address);
  });

  it('lets public unicast addresses through, in either family', () => {
    for (const address of ['93.184.216.34', '8.8.8.8', '172.32.0.1', '2606:4700::1111', '::ffff:8.8.8.8']) {
      assert.equal(addressRefusal(address), null, address);
    }
  });

  it('reads decimal, octal, hexadecimal and short IPv4 spellings as the address they are', () => {
    for (const url of [
      'https://2130706433/hook',
      'https://0177.0.0.1/hook',
      'https://0x7f.0.0.1/hook',
      'https://127.1/hook',
      'https://[::ffff:127.0.0.1]/hook',
      'https://[0:0:0:0:0:ffff:a9fe:a9fe]/latest/meta-data',
      'https://0xa9fea9fe/latest/meta-data',
    ]) {
      assert.match(urlRefusal(url, STRICT_POLICY) ?? '', /loopback|link-local/, url);
    }
  });

  it('takes https only, and no credentials in the URL', () => {
    assert.match(urlRefusal('http://backend.example/hook', STRICT_POLICY) ?? '', /only https/);
    assert.match(urlRefusal('ftp://backend.example/hook', STRICT_POLICY) ?? '', /only https/);
    assert.match(urlRefusal('https://user:secret@backend.example/hook', STRICT_POLICY) ?? '', /credentials/);
    assert.match(urlRefusal('not a url', STRICT_POLICY) ?? '', /not a URL/);
    assert.equal(urlRefusal('https://backend.example/hooks', STRICT_POLICY), null);
  });

  it('exempts only the hosts an operator allowed, and lets them use http (development)', () => {
    const policy = webhookPolicyFromEnv(' LocalHost , 127.0.0.1,[::1]');
    assert.equal(urlRefusal('http://localhost:8000/hook', policy), null);
    assert.equal(urlRefusal('http://127.0.0.1:8000/hook', policy), null);
    assert.equal(urlRefusal('http://[::1]:8000/hook', policy), null);
    assert.notEqual(urlRefusal('http://127.0.0.2:8000/hook', policy), null, 'another loopback address is not exempt');
    assert.notEqual(urlRefusal('https://169.254.169.254/', policy), null);
  });
});
