// Text chat between the two pages over its own RTCDataChannel (docs/protocol.md), which also carries the
// recording indicator: the message format, link splitting, and the bounded history with its outbox; no DOM.
// The history outlives any one connection.

import { cleanName } from './control.js';

/** The channel's label; both sides create it themselves (negotiated) with CHAT_CHANNEL_ID, so no offer is needed. */
export const CHAT_LABEL = 'duet-chat';
export const CHAT_CHANNEL_ID = 100;
export const CHAT_VERSION = 1;
/** Longest text accepted, in characters; longer is refused on send and dropped on receipt. */
export const MAX_CHAT_TEXT = 2000;
/** Longest frame accepted, in UTF-16 code units: the longest text with JSON escaping and a name. */
export const MAX_CHAT_FRAME = 16384;
/** Messages kept in the history; the oldest go first. */
export const MAX_CHAT_HISTORY = 200;
/** Messages waiting for the channel to open; beyond that, sending is refused. */
export const MAX_CHAT_PENDING = 50;

/**
 * @typedef {object} ChatEntry
 * @property {number} seq       unique within the page
 * @property {boolean} mine
 * @property {string} name      the sender's display name ('' when they gave none)
 * @property {string} text
 * @property {number} time      when it was sent or received, by this page's clock (ms since the epoch)
 * @property {boolean} pending  not yet handed to an open channel
 */

/** @typedef {{text: string, href?: string}} TextPart */

/**
 * The text as the user meant it to be sent, or null when it is empty or too long.
 * @param {unknown} text
 * @returns {string | null}
 */
export function cleanChatText(text) {
    if (typeof text !== 'string') return null;
    // Line breaks stay; other control characters (and the invisible line separators) do not.
    // eslint-disable-next-line no-control-regex
    const s = text.replace(/\r\n?/g, '\n').replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/g, ' ').trim();
    if (!s || Array.from(s).length > MAX_CHAT_TEXT) return null;
    return s;
}

/**
 * @param {string} name
 * @param {string} text  already cleaned
 * @returns {string}
 */
export function encodeChat(name, text) {
    return JSON.stringify({ v: CHAT_VERSION, type: 'chat', name: cleanName(name), text });
}

/**
 * @param {boolean} on  we are recording the call
 * @returns {string}
 */
export function encodeRecording(on) {
    return JSON.stringify({ v: CHAT_VERSION, type: 'recording', on: !!on });
}

/** @typedef {{type: 'chat', name: string, text: string} | {type: 'recording', on: boolean}} ChatMessage */

/**
 * The message in a chat channel frame, or null for anything else (binary, oversize, other version or type, empty
 * or too long text): peers ignore what they do not understand.
 * @param {unknown} data
 * @returns {ChatMessage | null}
 */
export function decodeChat(data) {
    if (typeof data !== 'string' || data.length > MAX_CHAT_FRAME) return null;
    let m;
    try {
        m = JSON.parse(data);
    } catch {
        return null;
    }
    if (!m || typeof m !== 'object' || Array.isArray(m) || m.v !== CHAT_VERSION) return null;
    if (m.type === 'recording') return typeof m.on === 'boolean' ? { type: 'recording', on: m.on } : null;
    if (m.type !== 'chat' || typeof m.name !== 'string') return null;
    const text = cleanChatText(m.text);
    if (text === null) return null;
    return { type: 'chat', name: cleanName(m.name), text };
}

// A web address as people paste it; trailing punctuation of the sentence around it is left out below.
const URL_RE = /\bhttps?:\/\/[^\s<>"']+/gi;
const TRAILING = /[.,;:!?)\]}'"»。，；：！？）]+$/u;

/**
 * The text cut into plain runs and links; only http and https addresses become links.
 * @param {string} text
 * @returns {TextPart[]}
 */
export function splitLinks(text) {
    /** @type {TextPart[]} */
    const parts = [];
    let last = 0;
    for (const m of text.matchAll(URL_RE)) {
        let url = m[0];
        const trail = url.match(TRAILING);
        // A closing parenthesis belongs to the address when it opened one (Wikipedia-style links).
        if (trail && !(trail[0] === ')' && url.includes('('))) url = url.slice(0, -trail[0].length);
        const href = safeHref(url);
        if (!href) continue;
        const at = /** @type {number} */ (m.index);
        if (at > last) parts.push({ text: text.slice(last, at) });
        parts.push({ text: url, href });
        last = at + url.length;
    }
    if (last < text.length) parts.push({ text: text.slice(last) });
    return parts;
}

/**
 * @param {string} url
 * @returns {string | null}
 */
function safeHref(url) {
    try {
        const u = new URL(url);
        return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
    } catch {
        return null;
    }
}

/**
 * The chat history and the messages waiting for a channel; what is shown is entries, newest last.
 */
export class ChatLog {
    constructor() {
        /** @type {ChatEntry[]} */
        this.entries = [];
        this.seq = 0;
    }

    /**
     * Adds our own message; it is pending until taken by takePending.
     * @param {string} name
     * @param {unknown} text
     * @param {number} now
     * @returns {ChatEntry | 'invalid' | 'full'}
     */
    addMine(name, text, now) {
        const clean = cleanChatText(text);
        if (clean === null) return 'invalid';
        if (this.entries.filter((e) => e.pending).length >= MAX_CHAT_PENDING) return 'full';
        return this.#push({ seq: ++this.seq, mine: true, name: cleanName(name), text: clean, time: now, pending: true });
    }

    /**
     * Adds a message from the other person.
     * @param {{name: string, text: string}} msg
     * @param {number} now
     * @returns {ChatEntry}
     */
    addTheirs(msg, now) {
        return this.#push({ seq: ++this.seq, mine: false, name: msg.name, text: msg.text, time: now, pending: false });
    }

    /**
     * Our messages not yet sent, oldest first, now marked sent: the caller hands them to an open channel.
     * @returns {ChatEntry[]}
     */
    takePending() {
        const out = this.entries.filter((e) => e.pending);
        for (const e of out) e.pending = false;
        return out;
    }

    /** @param {ChatEntry} e */
    #push(e) {
        this.entries.push(e);
        // Pending messages are never dropped for history: they leave only once sent.
        while (this.entries.length > MAX_CHAT_HISTORY) {
            const i = this.entries.findIndex((x) => !x.pending);
            if (i < 0) break;
            this.entries.splice(i, 1);
        }
        return e;
    }
}
