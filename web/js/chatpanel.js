// The chat panel: binds the chat channel of each peer connection to the history (chat.js) and shows it; text
// reaches the page only as text nodes, links only as http(s) anchors.

import { CHAT_CHANNEL_ID, CHAT_LABEL, ChatLog, decodeChat, encodeChat, encodeRecording, splitLinks } from './chat.js';
import { t } from './locale.js';

/** @typedef {import('./chat.js').ChatEntry} ChatEntry */

/**
 * @typedef {object} ChatElements
 * @property {HTMLElement} panel
 * @property {HTMLOListElement} list
 * @property {HTMLFormElement} form
 * @property {HTMLInputElement} input
 * @property {HTMLButtonElement} button  the control that opens the panel
 * @property {HTMLElement} badge         the unread count on it
 */

export class ChatPanel {
    /**
     * @param {ChatElements} ui
     * @param {() => string} myName
     * @param {(key: string) => void} onerror  a catalogue key to tell the user
     */
    constructor(ui, myName, onerror) {
        this.ui = ui;
        this.myName = myName;
        this.onerror = onerror;
        this.log = new ChatLog();
        /** @type {RTCDataChannel | null} */
        this.channel = null;
        this.unread = 0;
        // Whether we record the call: told to the other person on every change and whenever a channel opens.
        this.recording = false;
        /** @type {((on: boolean) => void) | null} the other person started or stopped recording */
        this.onpeerrecording = null;
        /** @type {Map<number, HTMLLIElement>} */
        this.items = new Map();
        ui.form.addEventListener('submit', (e) => {
            e.preventDefault();
            this.send(ui.input.value);
        });
        this.#showUnread();
    }

    get open() {
        return !this.ui.panel.hidden;
    }

    /**
     * Opens the chat channel of a new peer connection; the previous one, closed with its connection, is forgotten.
     * @param {RTCPeerConnection} pc
     */
    attach(pc) {
        const ch = pc.createDataChannel(CHAT_LABEL, { negotiated: true, id: CHAT_CHANNEL_ID, ordered: true });
        this.channel = ch;
        ch.onopen = () => {
            if (ch !== this.channel) return;
            if (this.recording) ch.send(encodeRecording(true));
            this.#flush();
        };
        ch.onmessage = (e) => {
            if (ch !== this.channel) return;
            const msg = decodeChat(e.data);
            if (!msg) return;
            if (msg.type === 'recording') {
                if (this.onpeerrecording) this.onpeerrecording(msg.on);
                return;
            }
            this.#show(this.log.addTheirs(msg, Date.now()));
            if (!this.open || document.hidden) {
                this.unread++;
                this.#showUnread();
            }
        };
        ch.onclose = () => {
            if (ch !== this.channel) return;
            this.channel = null;
            // Whoever recorded us through that connection no longer does.
            if (this.onpeerrecording) this.onpeerrecording(false);
        };
    }

    /** @param {boolean} on */
    setRecording(on) {
        this.recording = on;
        const ch = this.channel;
        if (ch && ch.readyState === 'open') ch.send(encodeRecording(on));
    }

    /** @param {string} text */
    send(text) {
        const e = this.log.addMine(this.myName(), text, Date.now());
        if (e === 'invalid') return;
        if (e === 'full') {
            this.onerror('chat.full');
            return;
        }
        this.ui.input.value = '';
        this.#show(e);
        this.#flush();
    }

    /** @param {boolean} open */
    setOpen(open) {
        const ui = this.ui;
        ui.panel.hidden = !open;
        ui.button.setAttribute('aria-expanded', String(open));
        if (open) {
            this.unread = 0;
            this.#showUnread();
            this.#scroll();
            ui.input.focus();
        } else if (ui.panel.contains(document.activeElement)) {
            ui.button.focus();
        }
    }

    /** Redraws what depends on the language. */
    relabel() {
        for (const e of this.log.entries) this.#show(e);
        this.#showUnread();
    }

    #flush() {
        const ch = this.channel;
        if (!ch || ch.readyState !== 'open') return;
        for (const e of this.log.takePending()) {
            ch.send(encodeChat(e.name, e.text));
            this.#show(e);
        }
    }

    #showUnread() {
        const b = this.ui.badge;
        b.hidden = this.unread === 0;
        b.textContent = this.unread > 99 ? '99+' : String(this.unread);
    }

    /** Draws one entry, new or changed, and removes those the history dropped. @param {ChatEntry} e */
    #show(e) {
        let li = this.items.get(e.seq);
        const fresh = !li;
        if (!li) {
            li = document.createElement('li');
            this.items.set(e.seq, li);
            this.ui.list.append(li);
        }
        li.className = e.mine ? 'mine' : 'theirs';
        li.classList.toggle('pending', e.pending);
        const head = document.createElement('div');
        head.className = 'chathead';
        const who = document.createElement('span');
        who.className = 'who';
        who.textContent = e.mine ? t('chat.you') : e.name || t('peer.someone');
        const when = document.createElement('time');
        when.dateTime = new Date(e.time).toISOString();
        when.textContent = new Date(e.time).toLocaleTimeString(document.documentElement.lang, { hour: '2-digit', minute: '2-digit' });
        head.append(who, when);
        if (e.pending) {
            const wait = document.createElement('span');
            wait.className = 'wait';
            wait.textContent = t('chat.pending');
            head.append(wait);
        }
        const body = document.createElement('p');
        for (const part of splitLinks(e.text)) {
            if (!part.href) {
                body.append(part.text);
                continue;
            }
            const a = document.createElement('a');
            a.href = part.href;
            a.target = '_blank';
            a.rel = 'noopener noreferrer';
            a.textContent = part.text;
            body.append(a);
        }
        li.replaceChildren(head, body);
        if (fresh) this.#prune();
        this.#scroll();
    }

    #prune() {
        const kept = new Set(this.log.entries.map((e) => e.seq));
        for (const [seq, li] of this.items) {
            if (kept.has(seq)) continue;
            li.remove();
            this.items.delete(seq);
        }
    }

    #scroll() {
        this.ui.list.scrollTop = this.ui.list.scrollHeight;
    }
}
