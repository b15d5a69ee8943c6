// File names of what the page saves: local date and time, zero-padded, sortable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileName } from '../js/snapshot.js';

test('file names carry the local date and time', () => {
    assert.equal(fileName('png', new Date(2026, 0, 2, 3, 4, 5)), 'duet-2026-01-02-030405.png');
    assert.equal(fileName('webm', new Date(2026, 11, 31, 23, 59, 59)), 'duet-2026-12-31-235959.webm');
});
