// File transfer messages and arithmetic: what is sent decodes to itself, anything else is dropped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_FILES_FRAME, MAX_FILE_NAME, cleanFileName, decodeFiles, encodeFiles, formatBytes, progress } from '../js/files.js';

test('messages round-trip', () => {
    const msgs = [
        { type: 'offer', id: 1, name: 'a.txt', size: 200 << 20, mime: 'text/plain' },
        { type: 'accept', id: 1 }, { type: 'decline', id: 2 }, { type: 'cancel', id: 3 },
        { type: 'done', id: 4, sha256: 'ab'.repeat(32) },
    ];
    for (const m of msgs) assert.deepEqual(decodeFiles(encodeFiles(/** @type {any} */ (m))), m);
});

test('decode drops what is not a valid message', () => {
    const bad = [
        ['binary', new ArrayBuffer(2)], ['not JSON', '{'], ['array', '[]'],
        ['other version', JSON.stringify({ v: 2, type: 'accept', id: 1 })],
        ['unknown type', JSON.stringify({ v: 1, type: 'hello', id: 1 })],
        ['negative id', JSON.stringify({ v: 1, type: 'accept', id: -1 })],
        ['fractional size', JSON.stringify({ v: 1, type: 'offer', id: 1, name: 'x', size: 1.5, mime: '' })],
        ['huge size', JSON.stringify({ v: 1, type: 'offer', id: 1, name: 'x', size: 2 ** 60, mime: '' })],
        ['bad hash', JSON.stringify({ v: 1, type: 'done', id: 1, sha256: 'xyz' })],
        ['oversize', JSON.stringify({ v: 1, type: 'offer', id: 1, name: 'n'.repeat(MAX_FILES_FRAME), size: 1, mime: '' })],
    ];
    for (const [what, data] of bad) assert.equal(decodeFiles(data), null, String(what));
});

test('file names lose paths and control characters, and are bounded', () => {
    assert.equal(cleanFileName('../../etc/passwd'), 'passwd');
    assert.equal(cleanFileName('C:\\Users\\a\\b.txt'), 'b.txt');
    assert.equal(cleanFileName('a\u0000b\n.txt'), 'ab.txt');
    assert.equal(cleanFileName('..'), 'file');
    assert.equal(cleanFileName(5), 'file');
    assert.equal(Array.from(cleanFileName('字'.repeat(1000))).length, MAX_FILE_NAME);
});

test('progress and sizes', () => {
    assert.deepEqual(progress(0, 100, 1), { rate: 0, left: null });
    assert.deepEqual(progress(50, 100, 2), { rate: 25, left: 2 });
    assert.deepEqual(progress(100, 100, 4), { rate: 25, left: 0 });
    assert.equal(formatBytes(999), '999 B');
    assert.equal(formatBytes(1500), '1.5 KB');
    assert.equal(formatBytes(200 * 1024 * 1024), '210 MB');
});
