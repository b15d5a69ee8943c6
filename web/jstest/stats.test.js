// pathOf names the path of the selected candidate pair for the stats panel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pathOf } from '../js/stats.js';

test('the path of a selected pair', () => {
    const cases = [
        [{ candidateType: 'host' }, { candidateType: 'srflx' }, 'path.direct'],
        [{ candidateType: 'prflx' }, { candidateType: 'host' }, 'path.direct'],
        [{ candidateType: 'relay', relayProtocol: 'udp' }, { candidateType: 'srflx' }, 'path.relayUdp'],
        [{ candidateType: 'relay', relayProtocol: 'tcp' }, { candidateType: 'relay' }, 'path.relayTcp'],
        [{ candidateType: 'relay', relayProtocol: 'tls' }, { candidateType: 'host' }, 'path.relayTls'],
        [{ candidateType: 'srflx' }, { candidateType: 'relay' }, 'path.relayPeer'],
        [undefined, undefined, ''],
    ];
    for (const [local, remote, want] of cases) {
        assert.equal(pathOf(local, remote), want, JSON.stringify({ local, remote }));
    }
});
