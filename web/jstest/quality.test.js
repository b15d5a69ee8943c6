// Send-quality presets: what each choice asks of the video encoder, for a camera and for a shared screen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QUALITIES, degradationFor, encodingFor, isQuality } from '../js/quality.js';

test('camera presets scale down to the preset height and cap bitrate and frame rate', () => {
    const cases = [
        ['auto', 720, { active: true, scaleResolutionDownBy: 1 }],
        ['720p', 1080, { active: true, maxBitrate: 2_500_000, scaleResolutionDownBy: 1.5, maxFramerate: 30 }],
        ['720p', 480, { active: true, maxBitrate: 2_500_000, scaleResolutionDownBy: 1, maxFramerate: 30 }],
        ['360p', 720, { active: true, maxBitrate: 800_000, scaleResolutionDownBy: 2, maxFramerate: 30 }],
        ['180p', 720, { active: true, maxBitrate: 200_000, scaleResolutionDownBy: 4, maxFramerate: 15 }],
        ['180p', 0, { active: true, maxBitrate: 200_000, scaleResolutionDownBy: 1, maxFramerate: 15 }],
        ['audio', 720, { active: false }],
    ];
    for (const [q, height, want] of cases) {
        assert.deepEqual(encodingFor(/** @type {any} */ (q), { height: Number(height), sharing: false }), want, `${q} at ${height}`);
    }
});

test('a shared screen keeps its resolution and gives up frame rate', () => {
    for (const q of ['720p', '360p', '180p']) {
        const screen = encodingFor(/** @type {any} */ (q), { height: 1080, sharing: true });
        const camera = encodingFor(/** @type {any} */ (q), { height: 1080, sharing: false });
        assert.equal(screen.scaleResolutionDownBy, 1, q);
        assert.ok(Number(screen.maxFramerate) < Number(camera.maxFramerate), q);
        assert.equal(screen.maxBitrate, camera.maxBitrate, q);
    }
    assert.equal(degradationFor(true), 'maintain-resolution');
    assert.equal(degradationFor(false), 'balanced');
});

test('lower presets never ask for more', () => {
    const rank = ['720p', '360p', '180p'].map((q) => encodingFor(/** @type {any} */ (q), { height: 1080, sharing: false }));
    for (let i = 1; i < rank.length; i++) {
        assert.ok(Number(rank[i].maxBitrate) < Number(rank[i - 1].maxBitrate));
        assert.ok(Number(rank[i].scaleResolutionDownBy) > Number(rank[i - 1].scaleResolutionDownBy));
    }
});

test('only the listed choices are qualities', () => {
    for (const q of QUALITIES) assert.ok(isQuality(q));
    for (const q of ['', 'AUTO', '1080p', 5, null]) assert.ok(!isQuality(q));
});
