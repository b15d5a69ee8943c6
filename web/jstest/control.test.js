// The peer-to-peer control messages: what is sent decodes to itself, anything else is dropped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_CONTROL_LENGTH, MAX_NAME_LENGTH, cleanName, decodeControl, encodeControl } from '../js/control.js';

const state = { type: 'state', name: 'Ada', micOff: true, cameraOff: false, sharing: true, speaking: false };

test('state and renegotiate round-trip', () => {
    assert.deepEqual(decodeControl(encodeControl(state)), state);
    assert.deepEqual(decodeControl(encodeControl({ type: 'renegotiate' })), { type: 'renegotiate' });
});

test('encode writes the version and only the known fields', () => {
    const m = JSON.parse(encodeControl({ ...state, extra: 'x' }));
    assert.deepEqual(Object.keys(m).sort(), ['cameraOff', 'micOff', 'name', 'sharing', 'speaking', 'type', 'v']);
    assert.equal(m.v, 1);
});

test('decode drops what is not a valid message of this version', () => {
    const ok = { v: 1, type: 'state', name: 'A', micOff: false, cameraOff: false, sharing: false, speaking: false };
    const bad = [
        ['not a string', new ArrayBuffer(4)],
        ['not JSON', '{v:1'],
        ['null', 'null'],
        ['array', '[1]'],
        ['number', '1'],
        ['no version', JSON.stringify({ ...ok, v: undefined })],
        ['other version', JSON.stringify({ ...ok, v: 2 })],
        ['unknown type', JSON.stringify({ ...ok, type: 'hello' })],
        ['name not a string', JSON.stringify({ ...ok, name: 5 })],
        ['flag not a boolean', JSON.stringify({ ...ok, micOff: 'yes' })],
        ['flag missing', JSON.stringify({ ...ok, speaking: undefined })],
        ['oversize', JSON.stringify({ ...ok, name: 'x'.repeat(MAX_CONTROL_LENGTH) })],
    ];
    for (const [what, data] of bad) {
        assert.equal(decodeControl(data), null, what);
    }
    assert.notEqual(decodeControl(JSON.stringify(ok)), null);
});

test('names are cleaned and bounded', () => {
    assert.equal(cleanName('  Ada \n Lovelace\u0007 '), 'Ada Lovelace');
    assert.equal(cleanName(42), '');
    assert.equal(Array.from(cleanName('字'.repeat(100))).length, MAX_NAME_LENGTH);
    const decoded = decodeControl(JSON.stringify({ v: 1, type: 'state', name: 'é'.repeat(200), micOff: false, cameraOff: false, sharing: false, speaking: false }));
    assert.equal(decoded && decoded.type === 'state' && decoded.name.length, MAX_NAME_LENGTH);
});
