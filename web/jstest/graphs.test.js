// The graphs' ring of points: bounded, oldest first, and points derived from stats summaries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GRAPH_POINTS, GraphRing, MEASURES, pointFrom } from '../js/graphs.js';

/** @param {number} i */
const pt = (i) => ({ time: i, sendKbps: i, recvKbps: 2 * i, lost: 0, rttMs: 10, fps: 30 });

test('the ring keeps the last points, oldest first', () => {
    const cases = [[0, []], [1, [0]], [3, [0, 1, 2]], [5, [0, 1, 2, 3, 4]], [6, [1, 2, 3, 4, 5]], [12, [7, 8, 9, 10, 11]]];
    for (const [n, want] of cases) {
        const r = new GraphRing(5);
        for (let i = 0; i < /** @type {number} */ (n); i++) r.push(pt(i));
        assert.deepEqual(r.points().map((p) => p.time), want, `after ${n}`);
        assert.equal(r.ring.length, 5);
    }
});

test('data is in uPlot columns: times, then one column per measure', () => {
    const r = new GraphRing();
    for (let i = 0; i < GRAPH_POINTS + 10; i++) r.push(pt(i));
    const d = r.data();
    assert.equal(d.length, 1 + MEASURES.length);
    for (const col of d) assert.equal(col.length, GRAPH_POINTS);
    assert.equal(d[0][0], 10);
    assert.equal(d[1 + MEASURES.indexOf('recvKbps')][0], 20);
    r.clear();
    assert.deepEqual(r.data()[0], []);
});

test('points from stats: rates, loss since the last one, round trip in ms', () => {
    const s = { timestamp: 5000, sendKbps: 300, recvKbps: 250, rtt: 0.025, fps: 29.5, packetsLost: 12 };
    assert.deepEqual(pointFrom(s, 10), { time: 5, sendKbps: 300, recvKbps: 250, lost: 2, rttMs: 25, fps: 29.5 });
    assert.equal(pointFrom(s, null).lost, null);
    assert.equal(pointFrom(s, 40).lost, 0);
    const empty = pointFrom({ timestamp: 1000, rtt: null, fps: null, packetsLost: 0 }, 0);
    assert.deepEqual(empty, { time: 1, sendKbps: null, recvKbps: null, lost: 0, rttMs: null, fps: null });
});
