// Recording the call in the page: both videos (or the other person's only) drawn on a canvas, both audio tracks
// mixed with Web Audio, encoded by MediaRecorder as WebM, its duration written in by fix-webm-duration (npm).

// A UMD script: loaded as a module it sets window.ysFixWebmDuration.
import '/vendor/fix-webm-duration.js';

/** @typedef {'both' | 'remote'} RecordMode */

const WIDTH = 1280;
const HEIGHT = 720;
const FPS = 30;
const MIME_TYPES = ['video/webm;codecs=vp8,opus', 'video/webm;codecs=vp9,opus', 'video/webm'];

/** Whether this browser can record the call at all. */
export function canRecord() {
    return typeof MediaRecorder !== 'undefined' && typeof AudioContext !== 'undefined' && MIME_TYPES.some((m) => MediaRecorder.isTypeSupported(m));
}

/**
 * Draws video into the box (x, y, w, h) as large as fits, keeping its shape; nothing when it has no picture.
 * @param {CanvasRenderingContext2D} ctx
 * @param {HTMLVideoElement} video
 * @param {number} x @param {number} y @param {number} w @param {number} h
 */
function drawFit(ctx, video, x, y, w, h) {
    const vw = video.videoWidth;
    const vh = video.videoHeight;
    if (!vw || !vh || video.readyState < 2) return;
    const s = Math.min(w / vw, h / vh);
    const dw = vw * s;
    const dh = vh * s;
    ctx.drawImage(video, x + (w - dw) / 2, y + (h - dh) / 2, dw, dh);
}

export class Recording {
    /**
     * Starts recording; the caller keeps the videos playing and stops it with stop().
     * @param {{remote: HTMLVideoElement, local: HTMLVideoElement, audio: MediaStreamTrack[], mode: RecordMode}} src
     */
    constructor({ remote, local, audio, mode }) {
        const canvas = document.createElement('canvas');
        canvas.width = WIDTH;
        canvas.height = HEIGHT;
        const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d'));
        const draw = () => {
            ctx.fillStyle = '#000';
            ctx.fillRect(0, 0, WIDTH, HEIGHT);
            if (mode === 'remote') {
                drawFit(ctx, remote, 0, 0, WIDTH, HEIGHT);
            } else {
                drawFit(ctx, remote, 0, 0, WIDTH / 2, HEIGHT);
                drawFit(ctx, local, WIDTH / 2, 0, WIDTH / 2, HEIGHT);
            }
        };
        draw();
        // A timer, not animation frames: those stop while the tab is hidden, and the recording would freeze.
        this.timer = window.setInterval(draw, 1000 / FPS);
        this.audioCtx = new AudioContext();
        const mix = this.audioCtx.createMediaStreamDestination();
        for (const track of audio) this.audioCtx.createMediaStreamSource(new MediaStream([track])).connect(mix);
        this.audioCtx.resume().catch(() => {});
        const stream = new MediaStream([...canvas.captureStream(FPS).getVideoTracks(), ...mix.stream.getAudioTracks()]);
        this.stream = stream;
        const mimeType = /** @type {string} */ (MIME_TYPES.find((m) => MediaRecorder.isTypeSupported(m)));
        this.recorder = new MediaRecorder(stream, { mimeType });
        /** @type {Blob[]} */
        this.chunks = [];
        this.recorder.ondataavailable = (e) => {
            if (e.data.size) this.chunks.push(e.data);
        };
        this.started = performance.now();
        // Chunks every second, so a long recording is not one buffer inside the recorder.
        this.recorder.start(1000);
    }

    /** Seconds since the start. */
    get elapsed() {
        return (performance.now() - this.started) / 1000;
    }

    /**
     * Stops and returns the WebM, its duration header written in.
     * @returns {Promise<Blob>}
     */
    async stop() {
        const duration = performance.now() - this.started;
        const stopped = new Promise((resolve) => { this.recorder.onstop = resolve; });
        if (this.recorder.state !== 'inactive') this.recorder.stop();
        await stopped;
        clearInterval(this.timer);
        this.stream.getTracks().forEach((t) => t.stop());
        this.audioCtx.close().catch(() => {});
        const blob = new Blob(this.chunks, { type: 'video/webm' });
        this.chunks = [];
        /** @type {import('fix-webm-duration').FixWebmDurationFunction} */
        const fixDuration = /** @type {any} */ (window).ysFixWebmDuration;
        return fixDuration(blob, duration, { logger: false });
    }
}
