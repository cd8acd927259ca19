// LATTICE_TUNNEL_ADDRESS, LATTICE_TUNNEL_PORTS and LATTICE_TUNNEL_LISTEN: the relay is off unless
// both of the first two are set, and a wrong value is an error naming its variable.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configFromEnv } from '../../controlplane/config.ts';

test('tunnel relay config: off by default; address and range; a separate listen address', () => {
  assert.equal(configFromEnv({}).tunnelRelay, undefined);
  assert.deepEqual(configFromEnv({ LATTICE_TUNNEL_ADDRESS: '127.0.0.1', LATTICE_TUNNEL_PORTS: '20000-20999' }).tunnelRelay, {
    address: '127.0.0.1',
    listenAddress: '127.0.0.1',
    ports: { first: 20000, last: 20999 },
  });
  assert.deepEqual(configFromEnv({ LATTICE_TUNNEL_ADDRESS: 'tunnels.example.com', LATTICE_TUNNEL_PORTS: '30000-30000', LATTICE_TUNNEL_LISTEN: '0.0.0.0' }).tunnelRelay, {
    address: 'tunnels.example.com',
    listenAddress: '0.0.0.0',
    ports: { first: 30000, last: 30000 },
  });
});

test('tunnel relay config: errors name the variable', () => {
  assert.throws(() => configFromEnv({ LATTICE_TUNNEL_ADDRESS: '127.0.0.1' }), /set both LATTICE_TUNNEL_ADDRESS and LATTICE_TUNNEL_PORTS/);
  assert.throws(() => configFromEnv({ LATTICE_TUNNEL_LISTEN: '0.0.0.0' }), /LATTICE_TUNNEL_LISTEN needs LATTICE_TUNNEL_ADDRESS and LATTICE_TUNNEL_PORTS/);
  for (const ports of ['20000', '20999-20000', '0-10', '65000-70000', 'a-b', '20000-']) {
    assert.throws(() => configFromEnv({ LATTICE_TUNNEL_ADDRESS: '127.0.0.1', LATTICE_TUNNEL_PORTS: ports }), /LATTICE_TUNNEL_PORTS must be a range of TCP ports/, ports);
  }
  for (const address of ['tcp://host', 'host:20000', 'host/path', '-host']) {
    assert.throws(() => configFromEnv({ LATTICE_TUNNEL_ADDRESS: address, LATTICE_TUNNEL_PORTS: '20000-20010' }), /LATTICE_TUNNEL_ADDRESS must be a host name or IP address/, address);
  }
  assert.throws(() => configFromEnv({ LATTICE_TUNNEL_ADDRESS: 'a.example', LATTICE_TUNNEL_PORTS: '20000-20010', LATTICE_TUNNEL_LISTEN: '0.0.0.0:1' }), /LATTICE_TUNNEL_LISTEN must be a host name or IP address/);
});
