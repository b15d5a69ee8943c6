// Signaling for duet: a thin wrapper over the socket.io client speaking the room protocol; it knows nothing of the DOM or WebRTC.
import { io } from '/vendor/socket.io.esm.min.js';

// Room names the server accepts; checked here too so the user hears about a bad name before a round trip.
export const ROOM_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export function validRoom(room) {
    return typeof room === 'string' && ROOM_PATTERN.test(room);
}

// The server → client events, named as the protocol names them; each handler is (room, socketId).
const ROOM_EVENTS = ['joined', 'other_joined', 'full', 'leaved', 'bye'];

export class Signaling {
    constructor(url) {
        // Same origin by default, so the page works behind whatever host name serves it.
        this.url = url;
        this.socket = null;
        // Set these to be told about events; unset ones are ignored.
        this.onconnect = null;        // (firstTime: boolean)
        this.ondisconnect = null;     // (reason: string)
        this.onconnect_error = null;  // (error: Error)
        this.onjoined = null;
        this.onother_joined = null;
        this.onfull = null;
        this.onleaved = null;
        this.onbye = null;
        this.onmessage = null;        // (room, data)
        this.onerror = null;          // ({event, code, reason})
        this.connectCount = 0;
        // The key of our seat, from joined: a join after a network change takes the seat back with it.
        this.seat = null;             // {room, key}
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
                this.#call('on' + name, room, socketId, resumed);
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

    // join asks for the seat's key (an options object) and presents the one it holds for room, if any:
    // back on a new socket before the server noticed the old one died, the page takes its own seat back.
    join(room) {
        const opts = {};
        if (this.seat && this.seat.room === room) opts.resume = this.seat.key;
        return this.#emit('join', room, opts);
    }

    leave(room) {
        return this.#emit('leave', room);
    }

    send(room, data) {
        return this.#emit('message', room, data);
    }

    // Emits only on a live connection: socket.io would otherwise buffer and replay stale SDP to a server that forgot the room.
    #emit(...args) {
        if (!this.connected) return false;
        this.socket.emit(...args);
        return true;
    }

    #call(name, ...args) {
        const handler = this[name];
        if (typeof handler !== 'function') return;
        try {
            handler(...args);
        } catch (e) {
            console.error(`signaling ${name} handler failed`, e);
        }
    }
}
