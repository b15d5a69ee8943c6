// Signaling for duet: a thin wrapper over the socket.io client speaking the room protocol; it knows nothing of the DOM or WebRTC.
import { io } from '/vendor/socket.io.esm.min.js';

// Room names the server accepts; checked here too so the user hears about a bad name before a round trip.
export const ROOM_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** @param {unknown} room @returns {room is string} */
export function validRoom(room) {
    return typeof room === 'string' && ROOM_PATTERN.test(room);
}

// The server → client events, named as the protocol names them; each handler is (room, socketId).
const ROOM_EVENTS = /** @type {const} */ (['joined', 'other_joined', 'full', 'leaved', 'bye']);

/** @typedef {(room: string, socketId: string, resumed: boolean) => void} RoomHandler */
/** @typedef {{event?: string, code?: string, reason?: string}} Refusal */

export class Signaling {
    /** @param {string} [url] */
    constructor(url) {
        // Same origin by default, so the page works behind whatever host name serves it.
        this.url = url;
        /** @type {import('/vendor/socket.io.esm.min.js').Socket | null} */
        this.socket = null;
        // Set these to be told about events; unset ones are ignored.
        /** @type {((firstTime: boolean) => void) | null} */
        this.onconnect = null;
        /** @type {((reason: string) => void) | null} */
        this.ondisconnect = null;
        /** @type {((error: Error) => void) | null} */
        this.onconnect_error = null;
        /** @type {RoomHandler | null} */
        this.onjoined = null;
        /** @type {RoomHandler | null} */
        this.onother_joined = null;
        /** @type {RoomHandler | null} */
        this.onfull = null;
        /** @type {RoomHandler | null} */
        this.onleaved = null;
        /** @type {RoomHandler | null} */
        this.onbye = null;
        /** @type {((room: string, data: unknown) => void) | null} */
        this.onmessage = null;
        /** @type {((err: Refusal) => void) | null} */
        this.onerror = null;
        this.connectCount = 0;
        // The key of our seat, from joined: a join after a network change takes the seat back with it.
        /** @type {{room: string, key: string} | null} */
        this.seat = null;
    }

    get connected() {
        return !!this.socket && this.socket.connected;
    }

    get id() {
        return this.socket ? this.socket.id : undefined;
    }

    connect() {
        if (this.socket) return;
        const opts = {
            // A quick retry cadence: a restarted server should see its callers back within a few seconds.
            reconnectionDelay: 500,
            reconnectionDelayMax: 3000,
        };
        const socket = this.url ? io(this.url, opts) : io(opts);
        this.socket = socket;
        socket.on('connect', () => {
            this.connectCount++;
            this.#call('onconnect', this.connectCount === 1);
        });
        socket.on('disconnect', (reason) => this.#call('ondisconnect', reason));
        socket.on('connect_error', (err) => this.#call('onconnect_error', err));
        for (const name of ROOM_EVENTS) {
            socket.on(name, (room, socketId, extra) => {
                let resumed = false;
                if (name === 'joined' && extra && typeof extra.resume === 'string') {
                    this.seat = { room, key: extra.resume };
                    resumed = extra.resumed === true;
                } else if ((name === 'leaved' || name === 'full') && this.seat && this.seat.room === room) {
                    this.seat = null;
                }
                this.#call(`on${name}`, room, socketId, resumed);
            });
        }
        socket.on('message', (room, data) => this.#call('onmessage', room, data));
        socket.on('error', (err) => this.#call('onerror', err || {}));
    }

    // Reopens a socket the server closed on purpose; socket.io retries by itself only after network failures.
    reconnect() {
        if (this.socket && !this.socket.connected) this.socket.connect();
    }

    close() {
        if (!this.socket) return;
        this.socket.close();
        this.socket = null;
    }

    // Always sends an options object, so the server hands out the seat's key: the access options
    // (password, token) given, and the key held for room, if any: back on a new socket before the
    // server noticed the old one died, the page takes its own seat back.
    /**
     * @param {string} room
     * @param {{password?: string, token?: string}} [options] join's access options (access.js)
     */
    join(room, options) {
        /** @type {{password?: string, token?: string, resume?: string}} */
        const opts = { ...options };
        if (this.seat && this.seat.room === room) opts.resume = this.seat.key;
        return this.#emit('join', room, opts);
    }

    /** @param {string} room */
    leave(room) {
        return this.#emit('leave', room);
    }

    /**
     * @param {string} room
     * @param {object} data
     */
    send(room, data) {
        return this.#emit('message', room, data);
    }

    // Emits only on a live connection: socket.io would otherwise buffer and replay stale SDP to a server that forgot the room.
    /**
     * @param {string} event
     * @param {...unknown} args
     */
    #emit(event, ...args) {
        if (!this.socket || !this.socket.connected) return false;
        this.socket.emit(event, ...args);
        return true;
    }

    /**
     * @param {'onconnect' | 'ondisconnect' | 'onconnect_error' | 'onmessage' | 'onerror' | `on${typeof ROOM_EVENTS[number]}`} name
     * @param {...any} args
     */
    #call(name, ...args) {
        /** @type {Function | null} */
        const handler = this[name];
        if (typeof handler !== 'function') return;
        try {
            handler(...args);
        } catch (e) {
            console.error(`signaling ${name} handler failed`, e);
        }
    }
}
