// Web Audio for the page: the microphone level meter and the arrival/leave cue. No DOM elements.

/** @type {AudioContext | null} */
let shared = null;

/** The page's one AudioContext, made on first use; browsers start it suspended until a user gesture. */
export function audioContext() {
    if (!shared) shared = new AudioContext();
    return shared;
}

/** Starts or resumes audio on a user gesture (autoplay rules), so cues can play. */
export function wakeAudio() {
    try {
        const ctx = audioContext();
        if (ctx.state === 'suspended') ctx.resume().catch(() => {});
    } catch {
        // No Web Audio here: the page goes without cues and meters.
    }
}

/** Reads the RMS level (0..1) of one audio track. */
export class LevelMeter {
    /** @param {MediaStreamTrack} track */
    constructor(track) {
        const ctx = audioContext();
        this.track = track;
        this.source = ctx.createMediaStreamSource(new MediaStream([track]));
        this.analyser = ctx.createAnalyser();
        this.analyser.fftSize = 512;
        this.buf = new Float32Array(this.analyser.fftSize);
        this.source.connect(this.analyser);
    }

    level() {
        this.analyser.getFloatTimeDomainData(this.buf);
        let sum = 0;
        for (const v of this.buf) sum += v * v;
        return Math.sqrt(sum / this.buf.length);
    }

    close() {
        this.source.disconnect();
    }
}

/**
 * A meter on track, or null when Web Audio refuses one (browsers cap the audio contexts a process may
 * hold): the level and speaking indicators are extras, never a reason for a call to fail.
 * @param {MediaStreamTrack} track
 * @returns {LevelMeter | null}
 */
export function openMeter(track) {
    try {
        return new LevelMeter(track);
    } catch (e) {
        console.warn('duet: no microphone level meter', e);
        return null;
    }
}

/**
 * Two short notes: rising when someone arrives, falling when they leave.
 * @param {boolean} arrived
 */
export function playCue(arrived) {
    if (!shared || shared.state !== 'running') return;
    const ctx = shared;
    const notes = arrived ? [660, 880] : [880, 660];
    const t0 = ctx.currentTime + 0.02;
    notes.forEach((freq, i) => {
        const osc = ctx.createOscillator();
        const gain = ctx.createGain();
        const start = t0 + i * 0.14;
        osc.frequency.value = freq;
        gain.gain.setValueAtTime(0, start);
        gain.gain.linearRampToValueAtTime(0.15, start + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.001, start + 0.13);
        osc.connect(gain).connect(ctx.destination);
        osc.start(start);
        osc.stop(start + 0.14);
    });
}
