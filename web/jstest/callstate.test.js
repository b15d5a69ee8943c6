// The call's state machine and the connection indicator's words.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linkStatus, transition } from '../js/callstate.js';

test('transition follows docs/protocol.md', () => {
    const cases = [
        ['init', 'joined', 'joined'],
        ['leaved', 'joined', 'joined'],
        ['joined', 'other_joined', 'joined_conn'],
        ['joined', 'offer', 'joined_conn'],
        ['joined_unbind', 'other_joined', 'joined_conn'],
        ['joined_conn', 'offer', 'joined_conn'],
        ['joined_conn', 'bye', 'joined_unbind'],
        ['joined', 'bye', 'joined_unbind'],
        ['joined_conn', 'leave', 'leaved'],
        ['init', 'full', 'leaved'],
        ['joined', 'kicked', 'leaved'],
        ['joined', 'fail', 'init'],
        // Events for a room the page is not in change nothing.
        ['init', 'other_joined', null],
        ['leaved', 'offer', null],
        ['leaved', 'bye', null],
        ['init', 'bye', null],
    ];
    for (const [from, event, want] of cases) {
        assert.equal(transition(from, event), want, `${from} --${event}-->`);
    }
});

test('the states reachable from init are exactly the protocol states', () => {
    const events = /** @type {const} */ (['joined', 'other_joined', 'offer', 'bye', 'leave', 'full', 'kicked', 'fail']);
    /** @type {Set<import('../js/callstate.js').CallState>} */
    const reached = new Set(['init']);
    for (const s of reached) { // a Set iterates over what is added while it runs
        for (const e of events) {
            const next = transition(s, e);
            if (next !== null) reached.add(next);
        }
    }
    // docs/protocol.md's diagram.
    assert.deepEqual([...reached].sort(), ['init', 'joined', 'joined_conn', 'joined_unbind', 'leaved']);
});

test('linkStatus says where the call is, in words the catalogue has', () => {
    const cases = [
        [{ active: false, state: 'leaved', online: true }, 'status.idle'],
        [{ active: true, state: 'init', online: true }, 'status.waiting'],
        [{ active: true, state: 'joined', online: true }, 'status.waiting'],
        [{ active: true, state: 'joined_unbind', online: true }, 'status.waiting'],
        [{ active: true, state: 'joined', online: false }, 'status.reconnecting'],
        [{ active: true, state: 'joined_conn', online: true, peer: 'new' }, 'status.connecting'],
        [{ active: true, state: 'joined_conn', online: true, peer: 'connecting' }, 'status.connecting'],
        [{ active: true, state: 'joined_conn', online: true, peer: 'connected' }, 'status.connected'],
        [{ active: true, state: 'joined_conn', online: true, peer: 'connected', relayed: true }, 'status.relayed'],
        // The media path outlives the server: a connected call stays connected while signaling reconnects.
        [{ active: true, state: 'joined_conn', online: false, peer: 'connected' }, 'status.connected'],
        [{ active: true, state: 'joined_conn', online: true, peer: 'disconnected' }, 'status.reconnecting'],
        [{ active: true, state: 'joined_conn', online: true, peer: 'failed' }, 'status.reconnecting'],
    ];
    for (const [facts, want] of cases) {
        assert.equal(linkStatus(facts), want, JSON.stringify(facts));
    }
});
