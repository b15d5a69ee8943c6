// The speaking indicator's hysteresis.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SPEAKING_HOLD_MS, SPEAKING_OFF, SPEAKING_ON, SpeakingDetector } from '../js/speaking.js';

test('speaking starts at once and ends after a quiet hold', () => {
    const d = new SpeakingDetector();
    assert.equal(d.update(0, 0), false);
    assert.equal(d.update(SPEAKING_ON, 100), true);
    // Between the thresholds: still speaking, and the quiet clock does not run.
    assert.equal(d.update((SPEAKING_ON + SPEAKING_OFF) / 2, 200), true);
    assert.equal(d.update(0, 300), true);
    assert.equal(d.update(0, 300 + SPEAKING_HOLD_MS - 1), true);
    assert.equal(d.update(0, 300 + SPEAKING_HOLD_MS), false);
});

test('a word within the hold keeps the indicator on', () => {
    const d = new SpeakingDetector();
    d.update(1, 0);
    d.update(0, 100);
    d.update(SPEAKING_ON, 100 + SPEAKING_HOLD_MS - 10);
    assert.equal(d.update(0, 100 + SPEAKING_HOLD_MS + 50), true);
    assert.equal(d.update(0, 100 + 2 * SPEAKING_HOLD_MS + 49), true);
    assert.equal(d.update(0, 100 + 2 * SPEAKING_HOLD_MS + 50), false);
});
