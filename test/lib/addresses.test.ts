import { describe, expect, it } from 'vitest';
import { isInternalAddress, isInternalHost, isLoopbackAddress } from '../../src/lib/addresses.js';

/** Which addresses a server-side request (jwks_uri, metadata document, back-channel logout) may reach. */
describe('isInternalAddress', () => {
  it.each([
    '127.0.0.1',
    '10.0.0.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '::',
    '::1',
    'fe80::1',
    'fd00::1',
    'ff02::1',
    // IPv4-mapped, in either spelling, judged as the IPv4 address it maps.
    '::ffff:10.0.0.1',
    '::ffff:a00:1',
    '0:0:0:0:0:ffff:169.254.169.254',
    // IPv4-compatible (::/96, deprecated): never a real host.
    '::10.0.0.1',
    '::a00:1',
    '::8.8.8.8',
    // 6to4 (2002::/16, deprecated by RFC 7526): a relay may route it anywhere.
    '2002:a00:1::1',
    '2002:808:808::1',
    // NAT64 well-known prefix with an internal IPv4 address inside.
    '64:ff9b::10.0.0.1',
    '64:ff9b::a9fe:a9fe',
    '64:ff9b::7f00:1',
    // Local-use NAT64 (RFC 8215): translates into the local network.
    '64:ff9b:1::1',
    '64:ff9b:1:ffff::8.8.8.8',
    // IPv4-translated (SIIT) with an internal IPv4 address inside.
    '::ffff:0:10.0.0.1',
    '::ffff:0:a9fe:a9fe',
    // Teredo, site-local, the IPv6 documentation range of RFC 9637.
    '2001:0:4136:e378:8000:63bf:3fff:fdd2',
    'fec0::1',
    '3fff::1',
  ])('%s is internal', (address) => {
    expect(isInternalAddress(address)).toBe(true);
    expect(isInternalHost(address.includes(':') ? `[${address}]` : address)).toBe(true);
  });

  it.each([
    '8.8.8.8',
    '93.184.216.34',
    '1.1.1.1',
    '::ffff:8.8.8.8',
    '::ffff:808:808',
    '2606:4700:4700::1111',
    '2a00:1450:4001:80b::200e',
    // NAT64 well-known prefix with a public IPv4 address: how an IPv6-only network reaches it.
    '64:ff9b::8.8.8.8',
    '64:ff9b::808:808',
    '::ffff:0:8.8.8.8',
    // 2001:db8::/32's neighbour 2001:4860:: (Google) is public; only 2001::/32 is Teredo.
    '2001:4860:4860::8888',
  ])('%s is not internal', (address) => {
    expect(isInternalAddress(address)).toBe(false);
  });

  it('takes host names and garbage as not internal addresses (names are judged when resolved)', () => {
    expect(isInternalAddress('example.com')).toBe(false);
    expect(isInternalAddress('')).toBe(false);
    expect(isInternalHost('localhost')).toBe(true);
    expect(isInternalHost('a.localhost')).toBe(true);
    expect(isInternalHost('example.com')).toBe(false);
  });

  it('knows loopback addresses, IPv4-mapped ones included', () => {
    for (const a of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1', '::ffff:7f00:1'])
      expect(isLoopbackAddress(a), a).toBe(true);
    for (const a of ['10.0.0.1', '::', '8.8.8.8', 'localhost'])
      expect(isLoopbackAddress(a), a).toBe(false);
  });
});
