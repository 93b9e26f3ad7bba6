import { describe, expect, it } from 'vitest';
import { addressKey } from '../../src/lib/address-key.js';

describe('addressKey', () => {
  it.each([
    ['192.0.2.7', '192.0.2.7'],
    ['::ffff:192.0.2.7', '192.0.2.7'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:0DB8:0001:0002:ffff::1', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['2001:db8:1:2::', '2001:db8:1:2::/64'],
    ['::1', '0:0:0:0::/64'],
    ['64:ff9b::192.0.2.7', '64:ff9b:0:0::/64'],
    ['not an address', 'not an address'],
  ])('counts %s under %s', (ip, key) => {
    expect(addressKey(ip)).toBe(key);
  });

  it('counts every address of one /64 together, and a neighbouring /64 apart', () => {
    const keys = new Set(
      ['2001:db8:aa:bb::1', '2001:db8:aa:bb:ffff:ffff:ffff:ffff', '2001:db8:aa:bb:1234::'].map(
        addressKey,
      ),
    );
    expect(keys.size).toBe(1);
    expect(addressKey('2001:db8:aa:bc::1')).not.toBe([...keys][0]);
  });
});
