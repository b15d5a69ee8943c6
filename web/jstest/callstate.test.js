// The call's state machine and the connection indicator's words.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { STATES, linkStatus, transition } from '../js/callstate.js';

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

test('every state a transition reaches is a protocol state', () => {
    const events = ['joined', 'other_joined', 'offer', 'bye', 'leave', 'full', 'kicked', 'fail'];
    for (const s of STATES) {
        for (const e of events) {
            const next = transition(s, e);
            assert.ok(next === null || STATES.includes(next), `${s} --${e}--> ${next}`);
        }
    }
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
