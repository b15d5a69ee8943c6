// The lobby: camera preview, microphone level and the join toggles, before the call; it hands its stream to the call.
import { capture, captureTrack, errorKey } from './media.js';
import { openMeter } from './audio.js';
import { setText } from './locale.js';

/** @typedef {import('./media.js').Captured} Captured */
/** @typedef {import('./media.js').MediaKind} MediaKind */
/** @typedef {import('./media.js').DeviceChoice} DeviceChoice */

/**
 * @typedef {object} LobbyElements
 * @property {HTMLVideoElement} video
 * @property {HTMLElement} note
 * @property {HTMLElement} level
 * @property {HTMLElement} levelBar
 * @property {HTMLInputElement} micOff
 * @property {HTMLInputElement} cameraOff
 */

export class Lobby {
    /** @param {LobbyElements} el */
    constructor(el) {
        this.el = el;
        /** @type {Promise<Captured> | null} */
        this.pending = null;
        /** @type {Captured | null} */
        this.captured = null;
        /** @type {import('./audio.js').LevelMeter | null} */
        this.meter = null;
        this.timer = 0;
        /** @type {(() => void) | null} the captured devices changed (labels become readable after permission) */
        this.onchange = null;
        el.micOff.addEventListener('change', () => this.#applyToggles());
        el.cameraOff.addEventListener('change', () => this.#applyToggles());
    }

    /** Starts the preview with the chosen devices. @param {DeviceChoice} choice */
    start(choice) {
        if (this.pending) return;
        this.#note('lobby.asking');
        this.pending = capture(choice).then((cap) => {
            this.captured = cap;
            this.#show();
            return cap;
        });
    }

    get previewing() {
        return !!this.pending;
    }

    /** The live track of a kind, if any. @param {MediaKind} kind */
    track(kind) {
        const s = this.captured && this.captured.stream;
        return (s && (kind === 'audio' ? s.getAudioTracks()[0] : s.getVideoTracks()[0])) || null;
    }

    /**
     * Another device in the preview.
     * @param {MediaKind} kind
     * @param {string} deviceId
     */
    async switchDevice(kind, deviceId) {
        if (!this.pending) return;
        const cap = await this.pending;
        let track;
        try {
            track = await captureTrack(kind, deviceId, true);
        } catch (e) {
            if (kind === 'audio') cap.audioError = errorKey(e);
            else cap.videoError = errorKey(e);
            return;
        }
        if (this.captured !== cap) {
            track.stop();
            return;
        }
        const old = this.track(kind);
        if (old) {
            cap.stream.removeTrack(old);
            old.stop();
        }
        cap.stream.addTrack(track);
        if (kind === 'audio') cap.audioError = null;
        else cap.videoError = null;
        this.#show();
    }

    /**
     * Ends the preview and hands over what it captured (null when there was no preview: the call captures itself).
     * @returns {Promise<Captured | null>}
     */
    async take() {
        const pending = this.pending;
        this.pending = null;
        const cap = pending ? await pending : null;
        this.captured = null;
        this.#stopMeter();
        this.el.video.srcObject = null;
        return cap;
    }

    /** Ends the preview and releases the devices. */
    async stop() {
        const cap = await this.take();
        if (cap) cap.stream.getTracks().forEach((tr) => tr.stop());
        this.#note('lobby.previewOff');
    }

    #show() {
        const cap = this.captured;
        if (!cap) return;
        // A stream without video never has metadata, and a video element waiting for it holds up the page's load event.
        this.el.video.srcObject = this.track('video') ? cap.stream : null;
        const mic = this.track('audio');
        this.#stopMeter();
        this.meter = mic && openMeter(mic);
        if (this.meter) this.timer = window.setInterval(() => this.#drawLevel(), 100);
        if (!mic && !this.track('video')) this.#note('lobby.nothing');
        else if (!this.track('video')) this.#note('lobby.noCamera');
        else this.#note(null);
        this.#applyToggles();
        if (this.onchange) this.onchange();
    }

    #applyToggles() {
        const mic = this.track('audio');
        const cam = this.track('video');
        if (mic) mic.enabled = !this.el.micOff.checked;
        if (cam) cam.enabled = !this.el.cameraOff.checked;
        this.el.video.classList.toggle('off', !cam || this.el.cameraOff.checked);
    }

    #drawLevel() {
        const mic = this.track('audio');
        const level = this.meter && mic && mic.enabled ? Math.min(1, this.meter.level() * 4) : 0;
        this.el.levelBar.style.transform = `scaleX(${level.toFixed(3)})`;
        this.el.level.setAttribute('aria-valuenow', String(Math.round(level * 100)));
    }

    #stopMeter() {
        clearInterval(this.timer);
        this.timer = 0;
        if (this.meter) this.meter.close();
        this.meter = null;
        this.el.levelBar.style.transform = 'scaleX(0)';
    }

    /** @param {string | null} key */
    #note(key) {
        this.el.note.hidden = !key;
        if (key) setText(this.el.note, key);
    }
}
