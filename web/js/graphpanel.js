// The connection panel's live graphs, drawn with uPlot (npm, copied to /vendor by make build) from the ring in
// graphs.js; built when the panel is first shown and again on a language change.

import uPlot from '/vendor/uPlot.esm.js';
import { MEASURES } from './graphs.js';
import { t } from './locale.js';

/** @typedef {import('./graphs.js').GraphRing} GraphRing */
/** @typedef {import('./graphs.js').Measure} Measure */

/** @type {{title: string, series: {measure: Measure, label: string, color: string}[]}[]} */
const CHARTS = [
    { title: 'graph.bitrate', series: [
        { measure: 'sendKbps', label: 'graph.send', color: '#3d8bfd' },
        { measure: 'recvKbps', label: 'graph.recv', color: '#3fb950' },
    ] },
    { title: 'graph.lost', series: [{ measure: 'lost', label: 'graph.lostShort', color: '#f85149' }] },
    { title: 'graph.rtt', series: [{ measure: 'rttMs', label: 'graph.rttShort', color: '#d29922' }] },
    { title: 'graph.fps', series: [{ measure: 'fps', label: 'graph.fpsShort', color: '#a371f7' }] },
];
const HEIGHT = 110;

export class GraphPanel {
    /**
     * @param {HTMLElement} box  where the charts go; they are drawn only while it is shown
     * @param {GraphRing} ring
     */
    constructor(box, ring) {
        this.box = box;
        this.ring = ring;
        /** @type {uPlot[]} */
        this.charts = [];
        this.width = 0;
        // A narrower or wider panel (window resized, phone turned) gets charts of its new width.
        new ResizeObserver(() => {
            if (this.charts.length && box.clientWidth !== this.width) this.build();
        }).observe(box);
    }

    get shown() {
        return this.box.offsetParent !== null && this.box.clientWidth > 0;
    }

    /** Draws the ring's points, building the charts the first time the box is shown. */
    update() {
        if (!this.shown) return;
        if (!this.charts.length) {
            this.build();
            return;
        }
        const d = this.ring.data();
        for (let i = 0; i < CHARTS.length; i++) this.charts[i].setData(columns(d, CHARTS[i].series.map((s) => s.measure)));
    }

    /** (Re)creates the charts at the box's width, in the page's language and colours. */
    build() {
        this.destroy();
        if (!this.shown) return;
        const style = getComputedStyle(this.box);
        const fg = style.color;
        const grid = style.getPropertyValue('--line').trim() || 'rgba(128,128,128,0.3)';
        const d = this.ring.data();
        this.width = this.box.clientWidth;
        for (const c of CHARTS) {
            /** @type {uPlot.Options} */
            const opts = {
                width: this.width,
                height: HEIGHT,
                title: t(c.title),
                cursor: { show: false },
                legend: { show: true, live: false },
                scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
                axes: [
                    { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, size: 24, font: '10px sans-serif' },
                    { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, size: 42, font: '10px sans-serif' },
                ],
                series: [{}, ...c.series.map((s) => ({ label: t(s.label), stroke: s.color, width: 1.5, spanGaps: false }))],
            };
            this.charts.push(new uPlot(opts, columns(d, c.series.map((s) => s.measure)), this.box));
        }
    }

    destroy() {
        for (const u of this.charts) u.destroy();
        this.charts = [];
    }

    /** What each chart holds, for tests: its title and its columns. */
    snapshot() {
        return this.charts.map((u, i) => ({ title: CHARTS[i].title, data: u.data }));
    }
}

/**
 * The time column and the named measures' columns of the ring's data.
 * @param {import('./graphs.js').GraphData} d
 * @param {Measure[]} measures
 * @returns {uPlot.AlignedData}
 */
function columns(d, measures) {
    return /** @type {uPlot.AlignedData} */ ([d[0], ...measures.map((m) => d[1 + MEASURES.indexOf(m)])]);
}
