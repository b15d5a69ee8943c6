// The send-quality choice: presets turned into RTCRtpSender encoding parameters, applied live with setParameters
// (no renegotiation). Screen sharing keeps its full resolution and gives up frame rate instead.

/** @typedef {'auto' | '720p' | '360p' | '180p' | 'audio'} Quality */
/**
 * @typedef {object} Encoding what the video sender's single encoding should say
 * @property {boolean} active
 * @property {number} [maxBitrate]             bits per second; absent: the browser's estimate decides
 * @property {number} [scaleResolutionDownBy]
 * @property {number} [maxFramerate]
 */

export const QUALITIES = /** @type {const} */ (['auto', '720p', '360p', '180p', 'audio']);

/** @type {Record<'720p' | '360p' | '180p', {height: number, maxBitrate: number, maxFramerate: number, shareFramerate: number}>} */
const PRESETS = {
    '720p': { height: 720, maxBitrate: 2_500_000, maxFramerate: 30, shareFramerate: 15 },
    '360p': { height: 360, maxBitrate: 800_000, maxFramerate: 30, shareFramerate: 8 },
    '180p': { height: 180, maxBitrate: 200_000, maxFramerate: 15, shareFramerate: 3 },
};

/**
 * @param {unknown} q
 * @returns {q is Quality}
 */
export function isQuality(q) {
    return typeof q === 'string' && /** @type {readonly string[]} */ (QUALITIES).includes(q);
}

/**
 * The encoding for a quality, given the height of the track sent (0 when unknown) and whether it is a shared screen.
 * @param {Quality} quality
 * @param {{height: number, sharing: boolean}} track
 * @returns {Encoding}
 */
export function encodingFor(quality, { height, sharing }) {
    if (quality === 'audio') return { active: false };
    if (quality === 'auto') return { active: true, scaleResolutionDownBy: 1 };
    const p = PRESETS[quality];
    if (sharing) return { active: true, maxBitrate: p.maxBitrate, scaleResolutionDownBy: 1, maxFramerate: p.shareFramerate };
    const scale = height > p.height ? height / p.height : 1;
    return { active: true, maxBitrate: p.maxBitrate, scaleResolutionDownBy: scale, maxFramerate: p.maxFramerate };
}

/**
 * What the encoder gives up first when short of bandwidth: frame rate for text on a screen, a balance otherwise.
 * @param {boolean} sharing
 * @returns {RTCDegradationPreference}
 */
export function degradationFor(sharing) {
    return sharing ? 'maintain-resolution' : 'balanced';
}

/** The fields an Encoding sets. */
const FIELDS = /** @type {const} */ (['maxBitrate', 'scaleResolutionDownBy', 'maxFramerate']);

/** What each sender was last given, so the once-a-second call changes parameters only when its inputs changed. */
const applied = new WeakMap();

/**
 * Puts the quality on a video sender, unless it was given the same already.
 * @param {RTCRtpSender} sender
 * @param {Quality} quality
 * @param {boolean} sharing
 */
export async function applyQuality(sender, quality, sharing) {
    const track = sender.track;
    if (!track || track.kind !== 'video') return;
    const height = track.getSettings().height || 0;
    const key = `${track.id} ${quality} ${sharing} ${height}`;
    if (applied.get(sender) === key) return;
    const params = sender.getParameters();
    const enc = params.encodings && params.encodings[0];
    if (!enc) return;
    /** @type {Record<string, unknown>} */
    const e = /** @type {any} */ (enc);
    for (const f of FIELDS) delete e[f];
    Object.assign(e, encodingFor(quality, { height, sharing }));
    params.degradationPreference = degradationFor(sharing);
    applied.set(sender, key);
    try {
        await sender.setParameters(params);
    } catch (err) {
        applied.delete(sender);
        throw err;
    }
}
