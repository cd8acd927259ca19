// The relay's port allocations behave the same on every backend: one port per instance port, the
// same one when asked again, the lowest free one otherwise, none past the range, freed per instance.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { allBackends, openForTest } from '../support/store-backends.ts';

for (const backend of allBackends()) {
  describe(`tunnel port store: ${backend.name}`, { skip: backend.skip }, () => {
    before(() => backend.start());
    after(() => backend.stop());

    test('allocate, allocate again, exhaust, release, reuse; two at once never share a port', async (t) => {
      const { tunnelPorts } = await openForTest(t, await backend.freshUrl());
      const range = { first: 20000, last: 20002 };
      assert.equal(await tunnelPorts.allocate('uid-a', 'postgres', range), 20000);
      assert.equal(await tunnelPorts.allocate('uid-a', 'http', range), 20001);
      assert.equal(await tunnelPorts.allocate('uid-a', 'postgres', range), 20000, 'the same instance port keeps its port');
      assert.equal(await tunnelPorts.allocate('uid-b', 'postgres', range), 20002);
      await assert.rejects(tunnelPorts.allocate('uid-c', 'postgres', range), /every tunnel port in 20000-20002 is taken \(LATTICE_TUNNEL_PORTS\)/);
      assert.deepEqual((await tunnelPorts.release('uid-a')).sort(), [20000, 20001]);
      assert.deepEqual(await tunnelPorts.list(), [{ port: 20002, instanceUid: 'uid-b', portName: 'postgres' }]);
      assert.equal(await tunnelPorts.allocate('uid-c', 'postgres', range), 20000, 'the lowest free port again');

      const wide = { first: 21000, last: 21099 };
      const ports = await Promise.all(Array.from({ length: 20 }, (_, i) => tunnelPorts.allocate(`uid-${i}`, 'p', wide)));
      assert.equal(new Set(ports).size, 20, `distinct ports: ${ports.join(', ')}`);
    });
  });
}
