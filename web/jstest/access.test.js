// Generated room names and join's options.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NAME_ALPHABET, NAME_GROUPS, NAME_GROUP_LEN, REFUSALS, inviteToken, joinOptions, newRoomName } from '../js/access.js';
import { CATALOGUES } from '../js/i18n.js';

// The shape internal/access documents, and the protocol's room rule.
const SHAPE = /^[0-9a-hjkmnp-tv-z]{5}(-[0-9a-hjkmnp-tv-z]{5}){3}$/;
const ROOM_RULE = /^[A-Za-z0-9_-]{1,64}$/;

test('a generated name has the shape and the entropy documented', () => {
    assert.equal(NAME_ALPHABET.length, 32);
    assert.ok(!/[ilou]/.test(NAME_ALPHABET));
    assert.ok(NAME_GROUPS * NAME_GROUP_LEN * Math.log2(NAME_ALPHABET.length) >= 96);
    // Every symbol at every position, none favoured: over 20 000 names each appears ~625 times per
    // position (σ ≈ 24.6); a stuck or biased generator falls far outside 450..800.
    const n = 20000;
    const counts = Array.from({ length: NAME_GROUPS * NAME_GROUP_LEN }, () => new Map());
    const seen = new Set();
    for (let i = 0; i < n; i++) {
        const name = newRoomName();
        assert.match(name, SHAPE);
        assert.match(name, ROOM_RULE);
        assert.ok(!seen.has(name), `${name} drawn twice`);
        seen.add(name);
        [...name.replaceAll('-', '')].forEach((c, pos) => counts[pos].set(c, (counts[pos].get(c) || 0) + 1));
    }
    counts.forEach((m, pos) => {
        assert.equal(m.size, 32, `position ${pos} used ${m.size} symbols`);
        for (const [c, k] of m) assert.ok(k > 450 && k < 800, `position ${pos}: ${c} ${k} times`);
    });
});

test('the name spells the random bytes it is given', () => {
    const bytes = Uint8Array.from({ length: 20 }, (_, i) => i * 13);
    assert.equal(newRoomName(() => bytes), '0dt7m-1ev8n-2fw9p-3gxaq');
});

test('the invite token comes from the fragment', () => {
    assert.equal(inviteToken('#token=a.b.c'), 'a.b.c');
    assert.equal(inviteToken('token=a.b.c&x=1'), 'a.b.c');
    assert.equal(inviteToken(''), '');
    assert.equal(inviteToken('#other=1'), '');
});

test('join sends options only when there are some', () => {
    assert.equal(joinOptions({}), undefined);
    assert.equal(joinOptions({ token: '', password: '' }), undefined);
    assert.deepEqual(joinOptions({ token: 't' }), { token: 't' });
    assert.deepEqual(joinOptions({ token: 't', password: 'p' }), { token: 't', password: 'p' });
});

test('every refusal the page explains has words in every catalogue', () => {
    for (const [tag, cat] of Object.entries(CATALOGUES)) {
        for (const key of Object.values(REFUSALS)) assert.ok(key in cat, `${tag} lacks ${key}`);
    }
});
