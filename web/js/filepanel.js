// File transfer in the page: a queue of files sent one at a time over the files channel (files.js), read with
// Blob.slice and hashed incrementally (SHA-256, @noble/hashes from npm), with back-pressure on the channel's
// buffer; the receiver accepts or declines, checks the hash and offers the file as a download.

import { sha256 } from '/vendor/noble/sha2.js';
import {
    CHUNK_SIZE, READ_SIZE, FILES_CHANNEL_ID, FILES_HIGH_WATER, FILES_LABEL, FILES_LOW_WATER, MAX_FILE_QUEUE,
    cleanFileName, decodeFiles, encodeFiles, formatBytes, hex, progress,
} from './files.js';
import { t } from './locale.js';

// The receiver folds what arrived into a Blob every so many bytes, which the browser may keep on disk.
const FOLD_BYTES = 16 * 1024 * 1024;

/**
 * @typedef {object} Transfer
 * @property {number} id
 * @property {boolean} outgoing
 * @property {string} name
 * @property {number} size
 * @property {string} mime
 * @property {'queued' | 'offered' | 'sending' | 'receiving' | 'done' | 'declined' | 'cancelled' | 'failed' | 'damaged'} state
 * @property {number} done      bytes sent or received
 * @property {number} start     performance.now() when bytes started to move
 * @property {File} [file]
 * @property {ReturnType<typeof sha256.create>} [hash]
 * @property {ArrayBuffer[]} [parts]
 * @property {Blob[]} [blobs]
 * @property {number} [partBytes]
 * @property {HTMLLIElement} li
 */

export class FilePanel {
    /**
     * @param {HTMLUListElement} list
     * @param {(key: string) => void} onerror  a catalogue key to tell the user
     */
    constructor(list, onerror) {
        this.list = list;
        this.onerror = onerror;
        /** @type {RTCDataChannel | null} */
        this.channel = null;
        this.nextId = 1;
        /** @type {Transfer[]} ours: the first not finished is the one on the wire */
        this.outgoing = [];
        /** @type {Transfer | null} theirs */
        this.incoming = null;
        /** @type {(() => void) | null} */
        this.onincoming = null;
    }

    /** @param {RTCPeerConnection} pc */
    attach(pc) {
        const ch = pc.createDataChannel(FILES_LABEL, { negotiated: true, id: FILES_CHANNEL_ID, ordered: true });
        ch.binaryType = 'arraybuffer';
        ch.bufferedAmountLowThreshold = FILES_LOW_WATER;
        this.#broken();
        this.channel = ch;
        ch.onopen = () => {
            if (ch === this.channel) this.#pump();
        };
        ch.onmessage = (e) => {
            if (ch !== this.channel) return;
            if (e.data instanceof ArrayBuffer) this.#chunk(e.data);
            else this.#message(e.data);
        };
        ch.onclose = () => {
            if (ch !== this.channel) return;
            this.channel = null;
            this.#broken();
        };
    }

    /** @param {Iterable<File>} files */
    add(files) {
        for (const file of files) {
            if (this.outgoing.filter((x) => x.state === 'queued').length >= MAX_FILE_QUEUE) {
                this.onerror('file.queueFull');
                break;
            }
            const tr = this.#item({ id: this.nextId++, outgoing: true, name: cleanFileName(file.name), size: file.size, mime: file.type, state: 'queued', done: 0, start: 0, file });
            this.outgoing.push(tr);
            this.#render(tr);
        }
        this.#pump();
    }

    // ---- sending ----

    get #active() {
        return this.outgoing.find((x) => x.state === 'offered' || x.state === 'sending') || null;
    }

    #pump() {
        const ch = this.channel;
        if (!ch || ch.readyState !== 'open' || this.#active) return;
        const next = this.outgoing.find((x) => x.state === 'queued');
        if (!next) return;
        next.state = 'offered';
        ch.send(encodeFiles({ type: 'offer', id: next.id, name: next.name, size: next.size, mime: next.mime }));
        this.#render(next);
    }

    /** @param {Transfer} tr */
    async #send(tr) {
        const ch = this.channel;
        const file = /** @type {File} */ (tr.file);
        if (!ch) return;
        tr.state = 'sending';
        tr.start = performance.now();
        const hash = sha256.create();
        let shown = 0;
        for (let off = 0; off < tr.size; off += READ_SIZE) {
            const buf = await file.slice(off, off + READ_SIZE).arrayBuffer();
            if (tr.state !== 'sending' || ch !== this.channel || ch.readyState !== 'open') return;
            hash.update(new Uint8Array(buf));
            for (let at = 0; at < buf.byteLength; at += CHUNK_SIZE) {
                if (ch.bufferedAmount > FILES_HIGH_WATER) {
                    await new Promise((resolve) => {
                        ch.addEventListener('bufferedamountlow', resolve, { once: true });
                        ch.addEventListener('close', resolve, { once: true });
                    });
                    if (tr.state !== 'sending' || ch.readyState !== 'open') return;
                }
                ch.send(new Uint8Array(buf, at, Math.min(CHUNK_SIZE, buf.byteLength - at)));
            }
            tr.done = off + buf.byteLength;
            if (performance.now() - shown > 250) {
                shown = performance.now();
                this.#render(tr);
            }
        }
        ch.send(encodeFiles({ type: 'done', id: tr.id, sha256: hex(hash.digest()) }));
        tr.state = 'done';
        tr.file = undefined;
        this.#render(tr);
        this.#pump();
    }

    // ---- receiving ----

    /** @param {unknown} data */
    #message(data) {
        const m = decodeFiles(data);
        if (!m) return;
        if (m.type === 'offer') {
            // One incoming file at a time: the sender offers the next only when this one is over.
            if (this.incoming && (this.incoming.state === 'offered' || this.incoming.state === 'receiving')) {
                this.#say({ type: 'decline', id: m.id });
                return;
            }
            this.incoming = this.#item({ id: m.id, outgoing: false, name: m.name, size: m.size, mime: m.mime, state: 'offered', done: 0, start: 0 });
            this.#render(this.incoming);
            if (this.onincoming) this.onincoming();
            return;
        }
        const out = this.#active;
        if (out && out.id === m.id) {
            if (m.type === 'accept' && out.state === 'offered') this.#send(out);
            else if (m.type === 'decline' || m.type === 'cancel') this.#end(out, m.type === 'decline' ? 'declined' : 'cancelled');
            return;
        }
        const tr = this.incoming;
        if (!tr || tr.id !== m.id || (tr.state !== 'offered' && tr.state !== 'receiving')) return;
        if (m.type === 'cancel') this.#end(tr, 'cancelled');
        else if (m.type === 'done' && tr.state === 'receiving') this.#finish(tr, m.sha256);
    }

    /** @param {ArrayBuffer} buf */
    #chunk(buf) {
        const tr = this.incoming;
        if (!tr || tr.state !== 'receiving') return;
        if (tr.done + buf.byteLength > tr.size) {
            // More than offered: the sender is broken or lying.
            this.#say({ type: 'cancel', id: tr.id });
            this.#end(tr, 'damaged');
            return;
        }
        tr.done += buf.byteLength;
        /** @type {NonNullable<Transfer['hash']>} */ (tr.hash).update(new Uint8Array(buf));
        const parts = /** @type {ArrayBuffer[]} */ (tr.parts);
        parts.push(buf);
        tr.partBytes = (tr.partBytes || 0) + buf.byteLength;
        if (tr.partBytes >= FOLD_BYTES) {
            /** @type {Blob[]} */ (tr.blobs).push(new Blob(parts));
            tr.parts = [];
            tr.partBytes = 0;
        }
        if (performance.now() - Number(tr.li.dataset.shown || 0) > 250) {
            tr.li.dataset.shown = String(performance.now());
            this.#render(tr);
        }
    }

    /** @param {Transfer} tr */
    #accept(tr) {
        if (tr.state !== 'offered') return;
        tr.state = 'receiving';
        tr.start = performance.now();
        tr.hash = sha256.create();
        tr.parts = [];
        tr.blobs = [];
        tr.partBytes = 0;
        this.#say({ type: 'accept', id: tr.id });
        this.#render(tr);
    }

    /**
     * @param {Transfer} tr
     * @param {string} sum
     */
    #finish(tr, sum) {
        const got = hex(/** @type {NonNullable<Transfer['hash']>} */ (tr.hash).digest());
        if (tr.done !== tr.size || got !== sum) {
            this.#end(tr, 'damaged');
            return;
        }
        const blob = new Blob([...(tr.blobs || []), new Blob(tr.parts || [])], { type: tr.mime || 'application/octet-stream' });
        tr.parts = undefined;
        tr.blobs = undefined;
        tr.state = 'done';
        tr.li.dataset.sha256 = got;
        this.#render(tr);
        const a = document.createElement('a');
        a.className = 'button primary save';
        a.href = URL.createObjectURL(blob);
        a.download = tr.name;
        a.textContent = t('file.save');
        tr.li.append(a);
    }

    // ---- both ----

    /** @param {import('./files.js').FilesMessage} m */
    #say(m) {
        const ch = this.channel;
        if (ch && ch.readyState === 'open') ch.send(encodeFiles(m));
    }

    /**
     * @param {Transfer} tr
     * @param {Transfer['state']} state
     */
    #end(tr, state) {
        tr.state = state;
        tr.file = undefined;
        tr.parts = undefined;
        tr.blobs = undefined;
        this.#render(tr);
        if (tr.outgoing) this.#pump();
    }

    /** @param {Transfer} tr */
    #cancel(tr) {
        if (tr.outgoing && tr.state === 'queued') {
            this.#end(tr, 'cancelled');
            return;
        }
        this.#say({ type: tr.state === 'offered' && !tr.outgoing ? 'decline' : 'cancel', id: tr.id });
        this.#end(tr, tr.state === 'offered' && !tr.outgoing ? 'declined' : 'cancelled');
    }

    // The connection went away: what was on the wire is lost; queued files wait for the next one.
    #broken() {
        for (const tr of [...this.outgoing, this.incoming]) {
            if (tr && (tr.state === 'offered' || tr.state === 'sending' || tr.state === 'receiving')) this.#end(tr, 'failed');
        }
    }

    /**
     * @param {Omit<Transfer, 'li'>} t0
     * @returns {Transfer}
     */
    #item(t0) {
        const li = document.createElement('li');
        li.id = `file-${t0.outgoing ? 'out' : 'in'}-${t0.id}`;
        this.list.append(li);
        return { ...t0, li };
    }

    /** Updates the transfer's row in place; its buttons are rebuilt only when they change, so a click never misses. @param {Transfer} tr */
    #render(tr) {
        const li = tr.li;
        li.dataset.state = tr.state;
        li.className = tr.outgoing ? 'out' : 'in';
        if (!li.firstChild) {
            const name = document.createElement('span');
            name.className = 'fname';
            const status = document.createElement('span');
            status.className = 'fstatus';
            const bar = document.createElement('progress');
            const buttons = document.createElement('span');
            buttons.className = 'fbuttons';
            li.append(name, status, bar, buttons);
        }
        const [name, status, bar, buttons] = /** @type {[HTMLElement, HTMLElement, HTMLProgressElement, HTMLElement]} */ (Array.from(li.children));
        name.textContent = `${tr.name} (${formatBytes(tr.size)})`;
        const moving = tr.state === 'sending' || tr.state === 'receiving';
        if (moving) {
            const p = progress(tr.done, tr.size, (performance.now() - tr.start) / 1000);
            status.textContent = t('file.progress', {
                percent: tr.size ? Math.floor((tr.done / tr.size) * 100) : 100,
                rate: formatBytes(p.rate),
                left: p.left === null ? '–' : `${Math.ceil(p.left)} s`,
            });
        } else {
            status.textContent = t(`file.${tr.outgoing ? 'out' : 'in'}.${tr.state}`);
        }
        bar.hidden = !moving;
        bar.max = tr.size || 1;
        bar.value = tr.done;
        /** @type {[string, string, () => void][]} */
        const want = [];
        if (!tr.outgoing && tr.state === 'offered') {
            want.push(['file.accept', 'accept', () => this.#accept(tr)], ['file.decline', 'decline', () => this.#cancel(tr)]);
        } else if (tr.state === 'queued' || tr.state === 'offered' || moving) {
            want.push(['file.cancel', 'cancel', () => this.#cancel(tr)]);
        }
        const key = want.map((w) => w[1]).join(' ');
        if (buttons.dataset.key !== key) {
            buttons.dataset.key = key;
            buttons.replaceChildren(...want.map(([k, action, fn]) => this.#button(k, action, fn)));
        }
        buttons.hidden = !want.length;
    }

    /**
     * @param {string} key
     * @param {string} action
     * @param {() => void} fn
     */
    #button(key, action, fn) {
        const b = document.createElement('button');
        b.type = 'button';
        b.dataset.action = action;
        b.textContent = t(key);
        b.addEventListener('click', fn);
        return b;
    }
}
