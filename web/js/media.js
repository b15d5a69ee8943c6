// Capturing the camera and microphone: what to ask for, and what to do when one of them is missing or refused.
// No DOM; only navigator.mediaDevices.

/** @typedef {'audio' | 'video'} MediaKind */
/** @typedef {{audio?: string, video?: string}} DeviceChoice  deviceIds, '' or absent for the browser's default */

const VIDEO = { width: { ideal: 640 }, height: { ideal: 480 } };
const AUDIO = { echoCancellation: true, noiseSuppression: true };

/**
 * @param {MediaKind} kind
 * @param {string | undefined} deviceId
 * @param {boolean} exact  true when the user picked this device just now: another one would be wrong
 * @returns {MediaTrackConstraints}
 */
function constraintsFor(kind, deviceId, exact) {
    const base = kind === 'audio' ? AUDIO : VIDEO;
    if (!deviceId) return { ...base };
    return { ...base, deviceId: exact ? { exact: deviceId } : { ideal: deviceId } };
}

/**
 * The catalogue key that says in words why capture failed.
 * @param {unknown} e
 * @returns {string}
 */
export function errorKey(e) {
    switch (e instanceof Error || e instanceof DOMException ? e.name : '') {
    case 'NotAllowedError':
    case 'SecurityError':
        return 'error.denied';
    case 'NotFoundError':
    case 'OverconstrainedError':
        return 'error.notFound';
    case 'NotReadableError':
    case 'AbortError':
        return 'error.busy';
    default:
        return 'error.other';
    }
}

/**
 * @typedef {object} Captured
 * @property {MediaStream} stream     whatever could be captured: both, one or no tracks
 * @property {string | null} audioError  catalogue key of why there is no microphone
 * @property {string | null} videoError  catalogue key of why there is no camera
 */

/**
 * Captures camera and microphone together; when that fails, each on its own, so a missing or refused
 * camera still leaves the microphone (and the other way round).
 * @param {DeviceChoice} choice
 * @returns {Promise<Captured>}
 */
export async function capture(choice) {
    const md = navigator.mediaDevices;
    if (!md || !md.getUserMedia) {
        return { stream: new MediaStream(), audioError: 'error.other', videoError: 'error.other' };
    }
    try {
        const stream = await md.getUserMedia({
            audio: constraintsFor('audio', choice.audio, false),
            video: constraintsFor('video', choice.video, false),
        });
        return { stream, audioError: null, videoError: null };
    } catch {
        // Fall through: learn which of the two is missing.
    }
    const stream = new MediaStream();
    /** @type {Record<MediaKind, string | null>} */
    const errors = { audio: null, video: null };
    for (const kind of /** @type {MediaKind[]} */ (['video', 'audio'])) {
        try {
            stream.addTrack(await captureTrack(kind, choice[kind], false));
        } catch (e) {
            errors[kind] = errorKey(e);
        }
    }
    return { stream, audioError: errors.audio, videoError: errors.video };
}

/**
 * One track of one kind.
 * @param {MediaKind} kind
 * @param {string | undefined} deviceId
 * @param {boolean} exact
 * @returns {Promise<MediaStreamTrack>}
 */
export async function captureTrack(kind, deviceId, exact) {
    const stream = await navigator.mediaDevices.getUserMedia({ [kind]: constraintsFor(kind, deviceId, exact) });
    const track = kind === 'audio' ? stream.getAudioTracks()[0] : stream.getVideoTracks()[0];
    if (!track) throw new DOMException('no track', 'NotFoundError');
    return track;
}
