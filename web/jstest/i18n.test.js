// The catalogues and their lookup.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { CATALOGUES, FALLBACK, pickLanguage, translate } from '../js/i18n.js';

test('pickLanguage follows the browser preferences', () => {
    const cases = [
        [['zh-CN', 'en'], 'zh-CN'],
        [['zh'], 'zh-CN'],
        [['zh-Hans-CN'], 'zh-CN'],
        [['ZH-cn'], 'zh-CN'],
        [['en-GB', 'zh-CN'], 'en'],
        [['fr', 'zh-TW'], 'zh-CN'],
        [['fr', 'de'], FALLBACK],
        [[], FALLBACK],
    ];
    for (const [prefs, want] of cases) assert.equal(pickLanguage(prefs), want, prefs.join(','));
});

test('translate fills parameters and falls back', () => {
    assert.equal(translate('en', 'notice.joining', { room: 'r1' }), 'Joining room r1…');
    assert.equal(translate('zh-CN', 'notice.joining', { room: 'r1' }), '正在加入房间 r1…');
    assert.equal(translate('xx', 'status.connected'), 'Connected');
    assert.equal(translate('en', 'no.such.key'), 'no.such.key');
    assert.equal(translate('en', 'notice.joining', {}), 'Joining room {room}…');
});

test('every catalogue has the same keys and the same parameters per key', () => {
    const base = CATALOGUES[FALLBACK];
    const params = (/** @type {string} */ s) => (s.match(/\{\w+\}/g) || []).sort().join();
    for (const [tag, cat] of Object.entries(CATALOGUES)) {
        assert.deepEqual(Object.keys(cat).sort(), Object.keys(base).sort(), tag);
        for (const [k, v] of Object.entries(cat)) {
            assert.ok(v.trim().length > 0, `${tag} ${k} is empty`);
            assert.equal(params(v), params(base[k]), `${tag} ${k} parameters`);
        }
    }
});

test('every key the pages and scripts use is in the catalogue', () => {
    const web = new URL('../', import.meta.url);
    const used = new Set();
    for (const f of ['index.html', 'room.html']) {
        for (const m of readFileSync(new URL(f, web), 'utf8').matchAll(/data-i18n(?:-label|-placeholder)?="([^"]+)"/g)) used.add(m[1]);
    }
    const js = new URL('js/', web);
    for (const f of readdirSync(js)) {
        // Keys are written as quoted dotted names of a known section.
        const re = /'((?:notice|status|ctl|peer|self|lobby|landing|room|device|error|kind|title|app|video|panel|lang|shortcut|stats)\.[A-Za-z]+)'/g;
        for (const m of readFileSync(new URL(f, js), 'utf8').matchAll(re)) used.add(m[1]);
    }
    const missing = [...used].filter((k) => !(k in CATALOGUES[FALLBACK]) && !k.endsWith('.'));
    assert.deepEqual(missing, []);
    assert.ok(used.size > 50, `only ${used.size} keys found: the scan is broken`);
});
