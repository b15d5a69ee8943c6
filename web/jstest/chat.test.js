// The chat's pure parts: messages round-trip or are dropped, links are split safely, the history stays bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
    ChatLog, MAX_CHAT_FRAME, MAX_CHAT_HISTORY, MAX_CHAT_PENDING, MAX_CHAT_TEXT,
    cleanChatText, decodeChat, encodeChat, encodeRecording, splitLinks,
} from '../js/chat.js';

test('a chat message round-trips', () => {
    for (const text of ['hi', '<b>bold</b> & "quotes"', 'line 1\nline 2', '你好', 'x'.repeat(MAX_CHAT_TEXT)]) {
        assert.deepEqual(decodeChat(encodeChat('Ada', text)), { type: 'chat', name: 'Ada', text });
    }
});

test('the longest text with the worst escaping still fits a frame', () => {
    assert.ok(encodeChat('n'.repeat(64), '\u0001'.repeat(MAX_CHAT_TEXT)).length <= MAX_CHAT_FRAME);
    assert.ok(encodeChat('n'.repeat(64), '"'.repeat(MAX_CHAT_TEXT)).length <= MAX_CHAT_FRAME);
});

test('decode drops what is not a chat message of this version', () => {
    const ok = { v: 1, type: 'chat', name: 'A', text: 'hi' };
    const bad = [
        ['binary', new ArrayBuffer(4)],
        ['not JSON', '{'],
        ['null', 'null'],
        ['array', '[]'],
        ['other version', JSON.stringify({ ...ok, v: 2 })],
        ['other type', JSON.stringify({ ...ok, type: 'state' })],
        ['name missing', JSON.stringify({ ...ok, name: undefined })],
        ['text not a string', JSON.stringify({ ...ok, text: 5 })],
        ['empty text', JSON.stringify({ ...ok, text: '  \n ' })],
        ['text too long', JSON.stringify({ ...ok, text: 'y'.repeat(MAX_CHAT_TEXT + 1) })],
        ['oversize frame', JSON.stringify({ ...ok, pad: 'z'.repeat(MAX_CHAT_FRAME) })],
    ];
    for (const [what, data] of bad) assert.equal(decodeChat(data), null, what);
    assert.deepEqual(decodeChat(JSON.stringify(ok)), { type: 'chat', name: 'A', text: 'hi' });
});

test('the recording indicator round-trips; a malformed one is dropped', () => {
    assert.deepEqual(decodeChat(encodeRecording(true)), { type: 'recording', on: true });
    assert.deepEqual(decodeChat(encodeRecording(false)), { type: 'recording', on: false });
    assert.equal(decodeChat(JSON.stringify({ v: 1, type: 'recording', on: 'yes' })), null);
    assert.equal(decodeChat(JSON.stringify({ v: 1, type: 'recording' })), null);
});

test('text is trimmed, control characters become spaces, line breaks stay', () => {
    assert.equal(cleanChatText('  a\u0007b\r\nc\u2028d  '), 'a b\nc d');
    assert.equal(cleanChatText(''), null);
    assert.equal(cleanChatText(null), null);
    // Counted in characters, not UTF-16 units.
    assert.equal(cleanChatText('😀'.repeat(MAX_CHAT_TEXT)), '😀'.repeat(MAX_CHAT_TEXT));
});

test('links: only http and https, sentence punctuation left out', () => {
    const cases = [
        ['no link here', [{ text: 'no link here' }]],
        ['see https://example.com/a?b=1.', [{ text: 'see ' }, { text: 'https://example.com/a?b=1', href: 'https://example.com/a?b=1' }, { text: '.' }]],
        ['(http://example.org)', [{ text: '(' }, { text: 'http://example.org', href: 'http://example.org/' }, { text: ')' }]],
        ['https://en.wikipedia.org/wiki/Duet_(music)', [{ text: 'https://en.wikipedia.org/wiki/Duet_(music)', href: 'https://en.wikipedia.org/wiki/Duet_(music)' }]],
        ['javascript:alert(1) data:text/html,x ftp://x', [{ text: 'javascript:alert(1) data:text/html,x ftp://x' }]],
        ['<a href="http://x.test">', [{ text: '<a href="' }, { text: 'http://x.test', href: 'http://x.test/' }, { text: '">' }]],
        ['a http://a.test b https://b.test', [{ text: 'a ' }, { text: 'http://a.test', href: 'http://a.test/' }, { text: ' b ' }, { text: 'https://b.test', href: 'https://b.test/' }]],
        ['看 https://example.com。', [{ text: '看 ' }, { text: 'https://example.com', href: 'https://example.com/' }, { text: '。' }]],
    ];
    for (const [text, want] of cases) {
        assert.deepEqual(splitLinks(/** @type {string} */ (text)), want, String(text));
        assert.equal(splitLinks(/** @type {string} */ (text)).map((p) => p.text).join(''), text, 'nothing lost');
    }
});

test('the history keeps the newest messages and never drops unsent ones', () => {
    const log = new ChatLog();
    assert.equal(log.addMine('me', '   ', 1), 'invalid');
    for (let i = 0; i < MAX_CHAT_PENDING; i++) assert.notEqual(typeof log.addMine('me', `m${i}`, i), 'string');
    assert.equal(log.addMine('me', 'one more', 1), 'full');
    for (let i = 0; i < MAX_CHAT_HISTORY * 2; i++) log.addTheirs({ name: 'you', text: `t${i}` }, i);
    assert.equal(log.entries.length, MAX_CHAT_HISTORY);
    assert.equal(log.entries.filter((e) => e.pending).length, MAX_CHAT_PENDING);
    const sent = log.takePending();
    assert.deepEqual(sent.map((e) => e.text), Array.from({ length: MAX_CHAT_PENDING }, (_, i) => `m${i}`));
    assert.equal(log.takePending().length, 0);
    log.addTheirs({ name: 'you', text: 'last' }, 0);
    assert.equal(log.entries.length, MAX_CHAT_HISTORY);
    assert.equal(log.entries.at(-1)?.text, 'last');
    assert.equal(new Set(log.entries.map((e) => e.seq)).size, log.entries.length);
});
