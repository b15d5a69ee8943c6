// The connection graphs' data: one point a second over the last minute, in a fixed-size ring; no DOM.

/** Points kept: one a second for a minute. */
export const GRAPH_POINTS = 60;
/** The plotted measures, in the order of GraphData after the times. */
export const MEASURES = /** @type {const} */ (['sendKbps', 'recvKbps', 'lost', 'rttMs', 'fps']);

/** @typedef {typeof MEASURES[number]} Measure */
/** @typedef {Record<Measure, number | null> & {time: number}} GraphPoint  time in seconds since the epoch */
/** @typedef {[number[], ...(number | null)[][]]} GraphData  uPlot's column layout: times, then one array per measure */

/**
 * A graph point from one stats summary; lost is the packets lost since the previous summary (null for the first).
 * @param {{timestamp: number, sendKbps?: number, recvKbps?: number, rtt: number | null, fps: number | null, packetsLost: number}} s
 * @param {number | null} prevLost  the previous summary's cumulative packets lost
 * @returns {GraphPoint}
 */
export function pointFrom(s, prevLost) {
    const num = (/** @type {unknown} */ v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
    return {
        time: s.timestamp / 1000,
        sendKbps: num(s.sendKbps),
        recvKbps: num(s.recvKbps),
        // A counter that went down (a new connection) starts again rather than plotting a negative loss.
        lost: prevLost === null ? null : Math.max(0, s.packetsLost - prevLost),
        rttMs: s.rtt === null ? null : s.rtt * 1000,
        fps: num(s.fps),
    };
}

/** The last `size` points, oldest first, in a ring that never grows. */
export class GraphRing {
    /** @param {number} [size] */
    constructor(size = GRAPH_POINTS) {
        this.size = size;
        /** @type {(GraphPoint | undefined)[]} */
        this.ring = new Array(size);
        this.next = 0;
        this.count = 0;
    }

    /** @param {GraphPoint} p */
    push(p) {
        this.ring[this.next] = p;
        this.next = (this.next + 1) % this.size;
        this.count = Math.min(this.count + 1, this.size);
    }

    clear() {
        this.ring = new Array(this.size);
        this.next = 0;
        this.count = 0;
    }

    /** @returns {GraphPoint[]} oldest first */
    points() {
        const out = [];
        const start = (this.next - this.count + this.size) % this.size;
        for (let i = 0; i < this.count; i++) out.push(/** @type {GraphPoint} */ (this.ring[(start + i) % this.size]));
        return out;
    }

    /** @returns {GraphData} */
    data() {
        const pts = this.points();
        return [pts.map((p) => p.time), ...MEASURES.map((m) => pts.map((p) => p[m]))];
    }
}
